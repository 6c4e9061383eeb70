#!/usr/bin/env python3
"""Fetch a mailbox with Python's poplib like a POP3 client: STLS, USER/PASS,
UIDL, LIST, RETR and TOP; check that LIST sizes equal the octets RETR gives
and that TOP returns the header and exactly N body lines.
Usage: poplib_fetch.py PORT USER PASSWORD [--delete]"""
import poplib
import ssl
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", port)
p.stls(context=ctx)
p.user(user)
p.pass_(password)
count, total = p.stat()
sizes = {int(x.split()[0]): int(x.split()[1]) for x in p.list()[1]}
uidls = {int(x.split()[0]): x.split()[1].decode() for x in p.uidl()[1]}
assert len(sizes) == len(uidls) == count, (count, sizes, uidls)
got = 0
for n in sorted(sizes):
    _, lines, octets = p.retr(n)
    text = b"".join(l + b"\r\n" for l in lines)
    assert len(text) == sizes[n], (n, len(text), sizes[n])
    got += len(text)
    head, _, body = text.partition(b"\r\n\r\n")
    _, top, _ = p.top(n, 1)
    want = head.split(b"\r\n") + [b""] + body.split(b"\r\n")[:1]
    assert top == want[:len(top)] and len(top) == len(head.split(b"\r\n")) + 1 + min(1, len(body.split(b"\r\n")) - 1), (top, want)
    print(uidls[n], lines[[l.startswith(b"Subject:") for l in lines].index(True)].decode() if any(l.startswith(b"Subject:") for l in lines) else "")
    if "--delete" in sys.argv:
        p.dele(n)
assert got == total, (got, total)
p.quit()
