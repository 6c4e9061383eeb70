#!/usr/bin/env python3
"""\\Recent (RFC 3501 2.3.2): a new message is \\Recent in exactly one
session; STATUS, EXAMINE and SELECT agree on the count; EXAMINE takes
nothing away (6.3.2). usage: imap_recent.py PORT"""
import imaplib
import sys

port = int(sys.argv[1])


def session():
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice@example.test", "pw-alice")
    return m


def recent_flags(m):
    typ, data = m.fetch("1:*", "(FLAGS)")
    return [b"\\Recent" in d for d in data if d]


def count(m, what):
    return int(m.response(what)[1][0])


w = session()
w.create("R")
w.append("R", None, None, b"Subject: one\r\n\r\n1\r\n")
w.append("R", None, None, b"Subject: two\r\n\r\n2\r\n")
status = w.status("R", "(RECENT)")[1][0]
assert b"RECENT 2" in status, status

a = session()
a.select("R", readonly=True)  # EXAMINE
assert count(a, "RECENT") == 2, "EXAMINE tells the unclaimed ones"
assert recent_flags(a) == [True, True]
b = session()
b.select("R")
assert count(b, "RECENT") == 2, "EXAMINE took nothing away; SELECT claims them"
c = session()
c.select("R")
assert count(c, "RECENT") == 0, "claimed by the first SELECT"
assert recent_flags(c) == [False, False]
assert b"RECENT 0" in w.status("R", "(RECENT)")[1][0]

# A new message: \Recent in exactly one of the two read-write sessions.
w.append("R", None, None, b"Subject: three\r\n\r\n3\r\n")
seen = []
for m in (b, c):
    m.noop()
    seen.append(recent_flags(m)[-1])
assert seen.count(True) == 1, seen
assert recent_flags(b)[:2] == [True, True] and recent_flags(c)[:2] == [False, False]
for m in (a, b, c, w):
    m.logout()
print("ok", seen)
