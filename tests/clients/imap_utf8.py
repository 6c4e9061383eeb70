#!/usr/bin/env python3
"""UTF8=ACCEPT (RFC 6855): after ENABLE UTF8=ACCEPT, mailbox names go both
ways in UTF-8 (stored as before, in modified UTF-7, so that clients
without it see the same folders), and APPEND takes a message with UTF-8
header fields as UTF8 (literal8), which SEARCH then finds. A session that
did not enable it keeps modified UTF-7 and may not use UTF8 (...).
Usage: imap_utf8.py PORT USER PASSWORD MAILDIR"""
import os
import re
import sys

from imapraw import check, command, session

port, user, password, maildir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
A, B = session(port, user, password), session(port, user, password)
check("UTF8=ACCEPT" in A.capabilities, "UTF8=ACCEPT advertised")

out, tagged = command(A, b"CREATE Caf&AOk-")
check(tagged.startswith("OK"), "CREATE in modified UTF-7 before ENABLE")
out, tagged = command(A, b"ENABLE UTF8=ACCEPT")
check(b"* ENABLED UTF8=ACCEPT" in out, "ENABLE UTF8=ACCEPT")
out, tagged = command(A, b'LIST "" "Caf*"')
check('* LIST (\\HasNoChildren) "/" "Café"'.encode() in out, "LIST gives the name in UTF-8, quoted")
out, tagged = command(A, 'CREATE "Über/Straße"'.encode())
check(tagged.startswith("OK"), "CREATE with a UTF-8 name")
check(os.path.isdir(os.path.join(maildir, ".&ANw-ber.Stra&AN8-e")), "stored in modified UTF-7 on disk")
out, tagged = command(A, 'STATUS "Über/Straße" (MESSAGES)'.encode())
check('* STATUS "Über/Straße" (MESSAGES 0)'.encode() in out, "STATUS with a UTF-8 name")
out, tagged = command(B, b'LIST "" "*ber*"')
check(b'"&ANw-ber/Stra&AN8-e"' in out, "a session without UTF8=ACCEPT sees modified UTF-7")

msg = "From: Zoë <zoe@example.test>\r\nSubject: déjà vu\r\n\r\nUnicode everywhere\r\n".encode()
out, tagged = command(A, 'APPEND "Café" UTF8 (~{%d+}'.encode() % len(msg), msg + b")\r\n")
check(tagged.startswith("OK [APPENDUID"), "APPEND UTF8 (literal8)")
out, tagged = command(A, 'SELECT "Café"'.encode())
check(tagged.startswith("OK"), "SELECT with a UTF-8 name")
out, tagged = command(A, b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
check("Subject: déjà vu".encode() in out, "the UTF-8 header is stored as sent")
out, tagged = command(A, 'SEARCH SUBJECT "DÉJÀ"'.encode())
check(b"* SEARCH 1\r\n" in out, "SEARCH with a UTF-8 quoted string, case-insensitive")
out, tagged = command(B, b"APPEND INBOX UTF8 (~{%d}" % len(msg))  # synchronizing: refused before it is sent
check(tagged.startswith("BAD"), "UTF8 (...) without ENABLE UTF8=ACCEPT is BAD")
out, tagged = command(B, b"NOOP")
check(tagged.startswith("OK"), "and the session goes on")
A.logout()
B.logout()
print("UTF8 OK")
