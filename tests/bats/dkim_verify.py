#!/usr/bin/python3
"""dkim_verify.py MESSAGE RECORDS.json: verify every DKIM-Signature of
MESSAGE with Debian's python3-dkim (dkimpy), the public keys taken from
the records printed by `mail-admin --json dkim show`. Prints one line per
signature; exits 1 unless there is at least one and all verify."""
import json
import sys

import dkim

msg = open(sys.argv[1], "rb").read()
if b"\r\n" not in msg:
    msg = msg.replace(b"\n", b"\r\n")
records = {r["name"].rstrip(".") + ".": r["value"].encode() for r in json.load(open(sys.argv[2]))}


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return records.get(name)


d = dkim.DKIM(msg)
count = msg.count(b"\nDKIM-Signature:") + msg.startswith(b"DKIM-Signature:")
ok = count > 0
for i in range(count):
    good = d.verify(idx=i, dnsfunc=dnsfunc)
    print(f"signature {i}: {'pass' if good else 'FAIL'}")
    ok = ok and good
sys.exit(0 if ok else 1)
