#!/usr/bin/env python3
"""METADATA (RFC 5464): SETMETADATA and GETMETADATA on a mailbox and on the
server (""), DEPTH and MAXSIZE (LONGENTRIES), NIL removes, literals,
entries follow RENAME and go with DELETE, the server's /shared entries are
the administrator's, bad names are BAD, MAXSIZE and TOOMANY limits.
usage: imap_metadata.py PORT"""
import sys

from imapraw import check, command, raw, session

port = int(sys.argv[1])
M = session(port, "alice@example.test", "pw-alice")
check("METADATA" in M.capabilities, "METADATA advertised")
lines, t = raw(M, 'SETMETADATA INBOX (/private/comment "my inbox" /shared/vendor/x-color "red")')
check(t.startswith("OK"), "SETMETADATA on INBOX: " + t)
lines, t = raw(M, "GETMETADATA INBOX /private/comment")
check(lines == ['* METADATA "INBOX" ("/private/comment" "my inbox")'], "GETMETADATA gives it back: " + repr(lines))
lines, t = raw(M, "GETMETADATA INBOX (/private/comment /private/none)")
check(lines == ['* METADATA "INBOX" ("/private/comment" "my inbox" "/private/none" NIL)'], "an absent entry is NIL: " + repr(lines))
lines, t = raw(M, "GETMETADATA (DEPTH infinity) INBOX /shared")
check(lines == ['* METADATA "INBOX" ("/shared/vendor/x-color" "red")'], "DEPTH infinity finds what is below: " + repr(lines))
lines, t = raw(M, "GETMETADATA (DEPTH 1) INBOX /shared")
check(lines == [], "DEPTH 1 only one level down: " + repr(lines))
lines, t = raw(M, "GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/vendor/x-color)")
check(lines == ['* METADATA "INBOX" ("/shared/vendor/x-color" "red")'] and t.startswith("OK [METADATA LONGENTRIES 8]"),
      "MAXSIZE leaves out longer values and says so: " + repr(lines) + " " + t)
out, t = command(M, b"SETMETADATA INBOX (/private/comment {10+}", b"two\r\nlines)\r\n")
check(t.startswith("OK"), "a value as a literal: " + t)
out, t = command(M, b"GETMETADATA INBOX /private/comment")
check(b"{10}\r\ntwo\r\nlines" in out, "comes back as a literal: " + repr(out))
lines, t = raw(M, "SETMETADATA INBOX (/private/comment NIL)")
lines, t = raw(M, "GETMETADATA INBOX /private/comment")
check(lines == ['* METADATA "INBOX" ("/private/comment" NIL)'], "NIL removed it: " + repr(lines))
lines, t = raw(M, 'SETMETADATA "" (/private/vendor/x-theme "dark")')
check(t.startswith("OK"), "a server entry of the user's own")
lines, t = raw(M, 'GETMETADATA "" /private/vendor/x-theme')
check(lines == ['* METADATA "" ("/private/vendor/x-theme" "dark")'], "given back for the server: " + repr(lines))
lines, t = raw(M, 'SETMETADATA "" (/shared/comment "mine")')
check(t.startswith("NO [NOPERM]"), "the server's /shared entries are not the user's: " + t)
for bad in ['(/bogus/x "y")', '(/private//x "y")', '(/private/x* "y")', '(/private "y")', '(/private/x)']:
    lines, t = raw(M, "SETMETADATA INBOX " + bad)
    check(t.startswith("BAD"), f"SETMETADATA INBOX {bad}: {t}")
lines, t = raw(M, 'SETMETADATA Nope (/private/comment "y")')
check(t.startswith("NO [NONEXISTENT]"), "no such mailbox: " + t)
# RENAME takes the entries along; DELETE drops them
M.create("Meta")
raw(M, 'SETMETADATA Meta (/private/comment "m")')
M.rename("Meta", "Meta2")
lines, t = raw(M, "GETMETADATA Meta2 /private/comment")
check(lines == ['* METADATA "Meta2" ("/private/comment" "m")'], "RENAME took the entry along: " + repr(lines))
M.delete("Meta2")
M.create("Meta2")
lines, t = raw(M, "GETMETADATA Meta2 /private/comment")
check(lines == ['* METADATA "Meta2" ("/private/comment" NIL)'], "DELETE dropped it: " + repr(lines))
# bounds
big = b"x" * (16 * 1024 + 1)
out, t = command(M, b"SETMETADATA INBOX (/private/big {%d+}" % len(big), big + b")\r\n")
check(t.startswith("NO [METADATA MAXSIZE 16384]"), "a value over 16 KiB: " + t)
n = 0
while True:
    items = " ".join(f'/private/vendor/x-n{n + k} "v"' for k in range(50))
    lines, t = raw(M, f"SETMETADATA INBOX ({items})")
    if not t.startswith("OK"):
        break
    n += 50
check(t.startswith("NO [METADATA TOOMANY]") and n < 1000, f"TOOMANY after {n}: {t}")
lines, t = raw(M, "GETMETADATA INBOX /private/vendor/x-n0")
check(lines == ['* METADATA "INBOX" ("/private/vendor/x-n0" "v")'], "a refused SETMETADATA changed nothing before it")
M.logout()
