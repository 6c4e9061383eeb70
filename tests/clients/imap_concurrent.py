#!/usr/bin/env python3
"""Two IMAP sessions on one mailbox: what one changes (flags, expunges,
appends) the other learns at its next NOOP; an expunge is never announced
during a FETCH, STORE or SEARCH (only EXISTS and FETCH FLAGS then), and is
announced at the next NOOP; both end agreeing on sequence numbers and
UIDs (printed as "UIDS ..." for the caller to check).
Usage: imap_concurrent.py PORT USER PASSWORD"""
import sys

from imapraw import check, raw, session

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]


A, B = session(port, user, password), session(port, user, password)
count = int(A.select("INBOX")[1][0])
check(int(B.select("INBOX")[1][0]) == count, f"both sessions see {count} messages")
uid_a = A.fetch("1:*", "(UID)")[1]

# B flags message 1 and deletes message 2; A is told at NOOP.
B.store("1", "+FLAGS", "\\Flagged")
B.store("2", "+FLAGS", "\\Deleted")
lines, _ = raw(A, "NOOP")
check(any(l.startswith("* 1 FETCH") and "\\Flagged" in l for l in lines), "A sees B's \\Flagged at NOOP")
B.expunge()
lines, _ = raw(A, "FETCH 1:* (FLAGS)")
check(not any("EXPUNGE" in l for l in lines), "no EXPUNGE during FETCH")
check(sum(1 for l in lines if " FETCH " in l) == count, "FETCH still answers for every message A knows")
lines, _ = raw(A, "SEARCH ALL")
check(not any("EXPUNGE" in l for l in lines), "no EXPUNGE during SEARCH")
lines, _ = raw(A, "NOOP")
check("* 2 EXPUNGE" in lines, "A gets * 2 EXPUNGE at NOOP")

# B appends; A learns EXISTS even in a FETCH.
B.append("INBOX", None, None, b"Subject: from B\r\n\r\nhello\r\n")
lines, _ = raw(A, "FETCH 1 (UID)")
check(f"* {count} EXISTS" in lines, "A sees the new message as EXISTS during FETCH")
uids_a = A.fetch("1:*", "(UID)")[1]
uids_b = B.fetch("1:*", "(UID)")[1]
check(uids_a == uids_b, "both sessions agree on sequence numbers and UIDs")
print("UIDS", b" ".join(u.split()[2].rstrip(b")") for u in uids_a).decode())
A.logout()
B.logout()
