#!/usr/bin/env python3
"""After the kill -9 loop: every delivery that exited 0 is present and
byte-identical; every file in new/ or cur/ is a complete message (no partial
file was ever made visible)."""
import os
import sys

mailbox, msgdir, results = sys.argv[1], sys.argv[2], sys.argv[3]
originals = {}
for name in os.listdir(msgdir):
    originals[name] = open(os.path.join(msgdir, name), "rb").read()

stored = {}
for sub in ("new", "cur"):
    d = os.path.join(mailbox, sub)
    for f in os.listdir(d):
        data = open(os.path.join(d, f), "rb").read()
        head, _, rest = data.partition(b"\n")  # Return-Path
        _, _, rest = rest.partition(b"\n")     # Delivered-To
        seq = rest.split(b"\n", 1)[0].decode()  # "X-Seq: N"
        key = seq.split(": ")[1]
        if originals.get(key) != rest:
            sys.exit(f"partial or altered file {f} (seq {key})")
        stored.setdefault(key, 0)
        stored[key] += 1

acked = [l.split()[0] for l in open(results) if l.split()[1] == "0"]
missing = [k for k in acked if k not in stored]
if missing:
    sys.exit(f"acknowledged but missing: {missing}")
killed = sum(1 for l in open(results) if l.split()[1] != "0")
print(f"{len(acked)} acknowledged, all present; {killed} killed; {len(stored)} distinct stored")
if killed == 0:
    sys.exit("no delivery was killed: the test proved nothing")
