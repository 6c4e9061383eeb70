#!/usr/bin/env python3
"""IMAP4rev2 (RFC 9051) once a client enables it: SELECT gives the
mailbox's LIST line and neither RECENT nor UNSEEN, no message is \\Recent,
SEARCH answers ESEARCH, mailbox names are UTF-8; a session that did not
enable it keeps IMAP4rev1's answers, and the \Recent of a message that
arrived before (the caller delivers one; nothing took it yet).
Usage: imap_rev2.py PORT USER PASSWORD"""
import re
import sys

from imapraw import check, command, session

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
M = session(port, user, password)
out, tagged = command(M, b"ENABLE IMAP4rev2")
check(b"* ENABLED IMAP4rev2" in out, "ENABLE IMAP4rev2")
out, tagged = command(M, b"SELECT INBOX")
check(tagged.startswith("OK [READ-WRITE]"), "SELECT")
check(b'* LIST () "/" "INBOX"' in out, "SELECT gives the mailbox's LIST line")
check(b"RECENT" not in out and b"[UNSEEN" not in out, "no RECENT, no UNSEEN")
check(b"[HIGHESTMODSEQ" in out and b"[UIDVALIDITY" in out and b"[UIDNEXT" in out, "UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ")
out, tagged = command(M, b"FETCH 1:* (FLAGS)")
check(b"\\Recent" not in out, "no message is \\Recent, not even the new one")
out, tagged = command(M, b"UID SEARCH ALL")
check(out.startswith(b"* ESEARCH (TAG ") and b" UID ALL " in out, "SEARCH answers ESEARCH")
out, tagged = command(M, b'SEARCH SUBJECT "no such subject anywhere"')
check(out.startswith(b"* ESEARCH (TAG ") and b"ALL" not in out, "an empty ESEARCH for no match")
out, tagged = command(M, 'CREATE "Rév2"'.encode())
check(tagged.startswith("OK"), "CREATE with a UTF-8 name")
out, tagged = command(M, 'LIST "" "R*v2"'.encode())
check('"Rév2"'.encode() in out, "LIST in UTF-8")
out, tagged = command(M, 'STATUS "Rév2" (MESSAGES SIZE DELETED)'.encode())
check(b"MESSAGES 0 SIZE 0 DELETED 0" in out, "STATUS SIZE and DELETED")
command(M, b"LOGOUT")

# the rev2 session took no \Recent away: a rev1 session still gets them
old = session(port, user, password)
check("IMAP4REV2" in old.capabilities and "IMAP4REV1" in old.capabilities, "IMAP4rev1 and IMAP4rev2 advertised")
out, _ = command(old, b"SELECT INBOX")
check(re.search(rb"\* [1-9][0-9]* RECENT\r\n", out), "IMAP4rev1: SELECT still gives \\Recent, which the rev2 session did not take")
out, _ = command(old, b"SEARCH ALL")
check(out.startswith(b"* SEARCH "), "IMAP4rev1: SEARCH answers * SEARCH")
command(old, b"LOGOUT")
print("IMAP4rev2 OK")
