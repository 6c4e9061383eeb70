#!/usr/bin/env python3
"""CONTEXT=SEARCH (RFC 5267 4.3) with another session making the changes:
a followed search hears of a new message (ADDTO after its EXISTS), of a
flag change (REMOVEFROM) at NOOP, and of an expunge during IDLE (REMOVEFROM
before the EXPUNGE); past the limit of followed searches, NO [NOUPDATE]
and the search still answered. usage: imap_context.py PORT"""
import re
import socket
import sys

from imapraw import check, raw, session

port = int(sys.argv[1])
a = session(port, "alice@example.test", "pw-alice")
b = session(port, "alice@example.test", "pw-alice")
b.create("Followed")
for s in (b"one", b"two"):
    b.append("Followed", None, None, b"Subject: " + s + b"\r\n\r\nx\r\n")
raw(a, "SELECT Followed")
lines, tagged = raw(a, "UID SEARCH RETURN (UPDATE COUNT) UNSEEN")
check(tagged.startswith("OK") and len(lines) == 1 and lines[0].endswith("UID COUNT 2"), "a followed search: " + repr(lines))
tag = re.search(r'TAG "([^"]+)"', lines[0]).group(1)
prefix = f'* ESEARCH (TAG "{tag}") UID '

b.append("Followed", None, None, b"Subject: three\r\n\r\nx\r\n")
lines, tagged = raw(a, "NOOP")
check(prefix + "ADDTO (0 3)" in lines, "another session's APPEND: ADDTO " + repr(lines))
check(lines.index("* 3 EXISTS") < lines.index(prefix + "ADDTO (0 3)"), "after the EXISTS")

b.select("Followed")
b.uid("STORE", "1", "+FLAGS", "(\\Seen)")
lines, tagged = raw(a, "NOOP")
check(prefix + "REMOVEFROM (0 1)" in lines, "another session's flag change: REMOVEFROM " + repr(lines))
lines, tagged = raw(a, "NOOP")
check(not any("ESEARCH" in l for l in lines), "told once " + repr(lines))

idle = a._new_tag()
a.send(idle + b" IDLE\r\n")
check(a.readline().startswith(b"+"), "IDLE")
b.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
b.expunge()
seen = []
a.sock.settimeout(15)
try:
    while "* 2 EXPUNGE" not in seen:
        seen.append(a.readline().rstrip(b"\r\n").decode())
except socket.timeout:
    pass
check(prefix + "REMOVEFROM (0 2)" in seen and "* 2 EXPUNGE" in seen and
      seen.index(prefix + "REMOVEFROM (0 2)") < seen.index("* 2 EXPUNGE"),
      "an expunge during IDLE: REMOVEFROM before the EXPUNGE " + repr(seen))
a.send(b"DONE\r\n")
while not a.readline().startswith(idle + b" OK"):
    pass

refused = None
for i in range(10):
    lines, tagged = raw(a, "SEARCH RETURN (UPDATE COUNT) ALL")
    check(tagged.startswith("OK") and any(l.endswith("COUNT 2") for l in lines), "the search answered " + repr(lines))
    if any(l.startswith("* NO [NOUPDATE ") for l in lines):
        refused = i
        break
check(refused == 7, f"the ninth followed search is refused with NOUPDATE (at {refused})")
lines, tagged = raw(a, f'CANCELUPDATE "{tag}"')
check(tagged.startswith("OK"), "CANCELUPDATE")
lines, tagged = raw(a, "SEARCH RETURN (UPDATE COUNT) ALL")
check(not any("NOUPDATE" in l for l in lines), "a cancelled context frees its place " + repr(lines))
a.logout()
b.delete("Followed")
b.logout()
