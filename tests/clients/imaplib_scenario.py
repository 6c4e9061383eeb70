#!/usr/bin/env python3
"""A full IMAP client session with Python's imaplib, as a mail program runs
one: STARTTLS, LOGIN, LIST, CREATE, APPEND, SELECT, FETCH, SEARCH, STORE,
COPY, MOVE, EXPUNGE, and IDLE woken by a delivery made meanwhile (the
command given after --deliver runs while the session idles).
Every step checks what the server answered; exit 0 when all hold.
Usage: imaplib_scenario.py PORT USER PASSWORD --deliver CMD..."""
import imaplib
import re
import ssl
import subprocess
import sys
import time

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
deliver = sys.argv[sys.argv.index("--deliver") + 1:]


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def ok(res, what):
    typ, data = res
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4("127.0.0.1", port)
check("STARTTLS" in M.capabilities, "STARTTLS offered")
ok(M.starttls(ssl_context=ctx), "STARTTLS")
ok(M.login(user, password), "LOGIN")
names = [l.decode() for l in ok(M.list(), "LIST")]
check(any(n.endswith('"INBOX"') for n in names), "LIST has INBOX")
check(any("\\Sent" in n and n.endswith('"Sent"') for n in names), "LIST marks Sent \\Sent")

ok(M.create("Projects/Alpha"), "CREATE Projects/Alpha")
msg = (b"From: Zoe <zoe@example.org>\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?Caf=C3=A9_plans?=\r\n"
       b"Message-ID: <alpha@example.org>\r\n\r\nLet us meet at the caf\xc3\xa9 on Tuesday.\r\n")
data = ok(M.append("Projects/Alpha", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg), "APPEND")
check(re.search(rb"APPENDUID \d+ 1\]", data[0]), "APPENDUID")

typ, data = M.select("Projects/Alpha")
check(typ == "OK" and data[0] == b"1", "SELECT Projects/Alpha: 1 message")
typ, data = M.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
check(typ == "OK", "FETCH")
head, body = data[0]
check(body == msg, "BODY[] is the appended message byte for byte")
check(b"RFC822.SIZE %d" % len(msg) in head, "RFC822.SIZE equals the octets")
check(b'INTERNALDATE "14-Nov-2023 22:13:20 +0000"' in head, "INTERNALDATE from APPEND")
check(b"\\Flagged" in head and b"\\Seen" not in head, "flags from APPEND, PEEK left \\Seen off")

M.literal = "café".encode()
typ, data = M.search("UTF-8", "BODY")
check(typ == "OK" and data[0] == b"1", "SEARCH BODY café (UTF-8 literal)")
M.literal = "CAFÉ PLANS".encode()
typ, data = M.search("UTF-8", "SUBJECT")
check(typ == "OK" and data[0] == b"1", "SEARCH SUBJECT decodes RFC 2047, case-insensitive")
typ, data = M.uid("SEARCH", "FROM", "zoe")
check(data[0] == b"1", "UID SEARCH FROM")
typ, data = M.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL")
check(typ == "OK" and data[0] == b"1", "SORT (imaplib's sort)")

data = ok(M.store("1", "+FLAGS", "(\\Seen $Todo)"), "STORE")
check(b"\\Seen" in data[0] and b"$Todo" in data[0], "STORE answers the new flags")
data = ok(M.copy("1", "INBOX"), "COPY to INBOX")
check(b"COPYUID" in data[0], "COPYUID")
ok(M.create("Archive/2026"), "CREATE Archive/2026")
typ, data = M.uid("MOVE", "1", "Archive/2026")
check(typ == "OK", "UID MOVE")
typ, data = M.select("Archive/2026")
check(data[0] == b"1", "moved message in Archive/2026")
typ, data = M.fetch("1", "(FLAGS)")
check(b"$Todo" in data[0] and b"\\Seen" in data[0], "MOVE kept flags and keywords")
ok(M.store("1", "+FLAGS", "\\Deleted"), "STORE \\Deleted")
typ, data = M.expunge()
check(typ == "OK" and data == [b"1"], "EXPUNGE answers * 1 EXPUNGE")

# IDLE on INBOX, woken by a delivery from another process.
typ, data = M.select("INBOX")
before = int(data[0])
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
check(M.readline().startswith(b"+"), "IDLE continuation")
t0 = time.time()
subprocess.run(deliver, check=True)
M.sock.settimeout(10)
line = M.readline()
check(re.match(rb"\* %d EXISTS" % (before + 1), line), f"IDLE reports the delivery ({line!r})")
print(f"IDLE woke after {time.time() - t0:.2f} s")
M.send(b"DONE\r\n")
while True:
    line = M.readline()
    if line.startswith(tag):
        check(b"OK" in line, "IDLE ends with OK")
        break
check(M.logout()[0] == "BYE", "LOGOUT")
