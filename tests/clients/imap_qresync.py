#!/usr/bin/env python3
"""CONDSTORE and QRESYNC (RFC 7162) with several sessions on one mailbox:
MODSEQ per message, HIGHESTMODSEQ, FETCH CHANGEDSINCE (VANISHED), STORE
UNCHANGEDSINCE (MODIFIED), SEARCH MODSEQ, STATUS HIGHESTMODSEQ, VANISHED
instead of EXPUNGE, and SELECT (QRESYNC ...) telling a client that comes
back what changed and what vanished while it was away, also when a file
was removed by another tool. The mailbox must start with messages of UIDs
1 to 4, the 4th the one with a PDF part of 0014's setup. Usage: imap_qresync.py PORT USER PASSWORD MAILDIR"""
import glob
import os
import re
import sys

from imapraw import check, raw, session as connect

port, user, password, maildir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def session():
    return connect(port, user, password)


def number(lines, pattern):
    for l in lines:
        m = re.search(pattern, l)
        if m:
            return int(m.group(1))
    return None


def fetched(lines):
    """{uid: (flags, modseq)} of the FETCH responses among `lines`."""
    out = {}
    for l in lines:
        m = re.match(r"\* \d+ FETCH \((.*)\)$", l)
        if not m:
            continue
        uid = re.search(r"UID (\d+)", m.group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", m.group(1))
        modseq = re.search(r"MODSEQ \((\d+)\)", m.group(1))
        out[int(uid.group(1))] = (flags.group(1) if flags else None, int(modseq.group(1)) if modseq else None)
    return out


A = session()
lines, tagged = raw(A, "ENABLE QRESYNC")
check("* ENABLED QRESYNC" in lines and tagged.startswith("OK"), "ENABLE QRESYNC")
check("CONDSTORE" in A.capabilities and "QRESYNC" in A.capabilities, "CONDSTORE and QRESYNC advertised")
lines, tagged = raw(A, "SELECT INBOX")
h0 = number(lines, r"\[HIGHESTMODSEQ (\d+)\]")
uv = number(lines, r"\[UIDVALIDITY (\d+)\]")
check(h0 is not None and h0 > 0 and uv, f"SELECT tells HIGHESTMODSEQ {h0}")
lines, _ = raw(A, "UID FETCH 1:* (MODSEQ)")
first = fetched(lines)
check(sorted(first) == [1, 2, 3, 4] and all(0 < ms <= h0 for _, ms in first.values()),
      "every message has a MODSEQ, at most HIGHESTMODSEQ")
lines, _ = raw(A, f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h0})")
check(not fetched(lines), "CHANGEDSINCE HIGHESTMODSEQ: nothing")

# B (no CONDSTORE) flags 1, expunges 2 and appends one; A hears of it at NOOP.
B = session()
B.select("INBOX")
B.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
B.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
B.expunge()
B.append("INBOX", None, None, b"Subject: new\r\n\r\nnew\r\n")
lines, _ = raw(A, "NOOP")
check("* VANISHED 2" in lines and not any("EXPUNGE" in l for l in lines), "A gets VANISHED 2, no EXPUNGE")
changes = fetched(lines)
check(1 in changes and "\\Flagged" in changes[1][0] and changes[1][1] > h0, "A gets UID 1's \\Flagged with its new MODSEQ")
check("* 4 EXISTS" in lines, "A gets the new message")
m1 = changes[1][1]

lines, _ = raw(A, f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {h0} VANISHED)")
check("* VANISHED (EARLIER) 2" in lines, "CHANGEDSINCE VANISHED: VANISHED (EARLIER) 2")
check(sorted(fetched(lines)) == [1, 5], "CHANGEDSINCE: the changed and the new message only")
lines, tagged = raw(A, f"FETCH 1:* (FLAGS) (CHANGEDSINCE {h0} VANISHED)")
check(tagged.startswith("BAD"), "VANISHED without UID is BAD")

# Conditional STORE
lines, tagged = raw(A, f"UID STORE 1 (UNCHANGEDSINCE {h0}) +FLAGS (\\Seen)")
check("[MODIFIED 1]" in tagged and tagged.startswith("OK") and not fetched(lines), "UNCHANGEDSINCE older: MODIFIED 1, nothing stored")
lines, _ = raw(A, "UID FETCH 1 (FLAGS)")
check("\\Seen" not in fetched(lines)[1][0], "UID 1 still without \\Seen")
lines, tagged = raw(A, f"UID STORE 1 (UNCHANGEDSINCE {m1}) +FLAGS (\\Seen)")
got = fetched(lines)
check(tagged.startswith("OK") and "MODIFIED" not in tagged and "\\Seen" in got[1][0] and got[1][1] > m1,
      "UNCHANGEDSINCE current: stored, new MODSEQ told")
lines, tagged = raw(A, "UID STORE 3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Seen)")
check("[MODIFIED 3]" in tagged, "UNCHANGEDSINCE 0 always fails")
lines, tagged = raw(A, "UID STORE 3 +FLAGS.SILENT (\\Answered)")
got = fetched(lines)
check(3 in got and got[3][0] is None and got[3][1] > m1, ".SILENT still tells the new MODSEQ")
m3 = got[3][1]

lines, _ = raw(A, f"UID SEARCH MODSEQ {h0 + 1}")
check(any(re.fullmatch(rf"\* SEARCH 1 3 5 \(MODSEQ {m3}\)", l) for l in lines), "SEARCH MODSEQ: 1 3 5 (MODSEQ highest)")
lines, _ = raw(A, f"UID SEARCH RETURN (ALL) MODSEQ {h0 + 1}")
check(any(l.endswith(f"UID ALL 1,3,5 MODSEQ {m3}") for l in lines), "ESEARCH with MODSEQ")
lines, _ = raw(A, "STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
h1 = number(lines, r"HIGHESTMODSEQ (\d+)")
check(h1 is not None and h1 >= m3, "STATUS HIGHESTMODSEQ")

# Another tool removes UID 4's file: VANISHED at the next NOOP.
target = None
for p in glob.glob(os.path.join(maildir, "cur", "*")) + glob.glob(os.path.join(maildir, "new", "*")):
    with open(p, "rb") as f:
        if b"JVBERi0xLjQK" in f.read():  # UID 4: the message with the PDF
            target = p
check(target is not None, "found the file of UID 4")
os.unlink(target)
lines, _ = raw(A, "NOOP")
check("* VANISHED 4" in lines, "a file removed by another tool: VANISHED 4")

# A client that comes back: SELECT (QRESYNC ...)
C = session()
lines, tagged = raw(C, f"SELECT INBOX (QRESYNC ({uv} {h0}))")
check(tagged.startswith("BAD"), "QRESYNC before ENABLE QRESYNC is BAD")
raw(C, "ENABLE QRESYNC")
lines, tagged = raw(C, f"SELECT INBOX (QRESYNC ({uv} {h0} 1:4))")
got = fetched(lines)
check(tagged.startswith("OK") and "* VANISHED (EARLIER) 2,4" in lines, "QRESYNC SELECT: VANISHED (EARLIER) 2,4")
check(sorted(got) == [1, 3] and all(ms > h0 for _, ms in got.values()), "QRESYNC SELECT: FETCH of the known UIDs changed (1 and 3)")
check(lines.index("* VANISHED (EARLIER) 2,4") < min(i for i, l in enumerate(lines) if " FETCH " in l), "VANISHED comes before FETCH")
lines, tagged = raw(C, f"SELECT INBOX (QRESYNC ({uv} {h0}))")
check("* OK [CLOSED] previous mailbox closed" in lines, "OK [CLOSED] when SELECT closes the previous mailbox")
check(sorted(fetched(lines)) == [1, 3, 5], "QRESYNC SELECT without known UIDs: the new one too")
h2 = number(lines, r"\[HIGHESTMODSEQ (\d+)\]")
lines, tagged = raw(C, f"SELECT INBOX (QRESYNC ({uv + 1} {h0}))")
check(tagged.startswith("OK") and not fetched(lines) and not any("VANISHED" in l for l in lines),
      "another UIDVALIDITY: nothing to resynchronize")
lines, tagged = raw(C, f"SELECT INBOX (QRESYNC ({uv} {h2} 1:5))")
check(not any("VANISHED" in l for l in lines) and not fetched(lines), "up to date: nothing told")

# EXPUNGE under QRESYNC: VANISHED and the new HIGHESTMODSEQ.
raw(C, "UID STORE 3 +FLAGS.SILENT (\\Deleted)")
lines, tagged = raw(C, "EXPUNGE")
check("* VANISHED 3" in lines and "[HIGHESTMODSEQ" in tagged, "EXPUNGE: VANISHED 3, OK [HIGHESTMODSEQ]")
lines, _ = raw(A, "NOOP")
check("* VANISHED 3" in lines, "the other QRESYNC session gets VANISHED 3")
lines, _ = raw(B, "NOOP")
check(any(re.fullmatch(r"\* \d EXPUNGE", l) for l in lines), "the plain session gets EXPUNGE")
for M in (A, B, C):
    M.logout()
print("QRESYNC OK")
