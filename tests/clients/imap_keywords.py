#!/usr/bin/env python3
"""Keywords (RFC 3501 7.2.6): SELECT's FLAGS holds the keywords in use;
one that appears later (another session's STORE or APPEND, a Maildir tool)
is announced with * FLAGS and * OK [PERMANENTFLAGS] before the FETCH that
shows it. usage: imap_keywords.py PORT"""
import sys

from imapraw import check, raw, session

port = int(sys.argv[1])
a = session(port, "alice@example.test", "pw-alice")
b = session(port, "alice@example.test", "pw-alice")
b.create("Kw")
b.append("Kw", "($Seen-Before)", None, b"Subject: k\r\n\r\nk\r\n")
lines, tagged = raw(a, "SELECT Kw")
check("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Seen-Before)" in lines, "SELECT's FLAGS has the keyword in use")
check(any(l.startswith("* OK [PERMANENTFLAGS (") and "$Seen-Before \\*)" in l for l in lines), "and PERMANENTFLAGS too")
b.select("Kw")
b.store("1", "+FLAGS", "($Label1)")
lines, tagged = raw(a, "NOOP")
flags = [i for i, l in enumerate(lines) if l.startswith("* FLAGS (") and "$Label1" in l]
fetch = [i for i, l in enumerate(lines) if "FETCH" in l and "$Label1" in l]
check(flags and fetch and flags[0] < fetch[0], "another session's new keyword: FLAGS before the FETCH " + repr(lines))
b.append("Kw", "($Label2)", None, b"Subject: k2\r\n\r\nk\r\n")
lines, tagged = raw(a, "NOOP")
check(any(l.startswith("* FLAGS (") and "$Label2" in l for l in lines), "an APPEND's new keyword announced " + repr(lines))
lines, tagged = raw(a, "NOOP")
check(not any(l.startswith("* FLAGS") for l in lines), "once")
a.logout()
b.logout()
