#!/usr/bin/env python3
"""BINARY (RFC 3516): FETCH BINARY[part] gives the part with its transfer
encoding undone (base64 with NUL bytes as a literal8, quoted-printable
with an encoded bare LF kept, 8bit as CRLF text), BINARY.SIZE, partials,
NIL for a missing part, NO [UNKNOWN-CTE] for an unknown encoding, \\Seen
set by BINARY and not by BINARY.PEEK; APPEND of a literal8 is stored when
its bytes survive the store's LF form and refused with NO [UNKNOWN-CTE]
when they would not (NUL, bare LF). Usage: imap_binary.py PORT USER PASSWORD"""
import base64
import re
import sys

import imapraw
from imapraw import check, raw, session

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
M = session(port, user, password)
check("BINARY" in M.capabilities, "BINARY advertised")


def command(cmd, data=b""):
    return imapraw.command(M, cmd, data)


blob = bytes([0, 1, 2, 3, 13, 10, 255, 0, 10])  # NUL, CRLF, 8-bit, a bare LF
message = (
    b"From: a@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.b64encode(blob) + b"\r\n"
    b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=E9 au lait=0Asoft=\r\nbreak\r\nline two\r\n"
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"caf\xc3\xa9\r\n"
    b"--b\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    b"begin 644 x\r\n"
    b"--b--\r\n")
raw(M, "CREATE Binary")
out, tagged = command(b"APPEND Binary {%d+}" % len(message), message + b"\r\n")
check(tagged.startswith("OK"), "APPEND of the MIME message")
M.select("Binary")

out, tagged = command(b"FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])")
check(b"BINARY.SIZE[1] 9 BINARY.SIZE[2] 32 BINARY.SIZE[3] 5" in out, "BINARY.SIZE of the decoded parts")
out, tagged = command(b"FETCH 1 (BINARY.PEEK[1])")
check(b"BINARY[1] ~{9}\r\n" + blob + b")" in out, "base64 part: its bytes as a literal8")
out, tagged = command(b"FETCH 1 (BINARY.PEEK[2])")
check(b"BINARY[2] {32}\r\ncaf\xe9 au lait\nsoftbreak\r\nline two)" in out,
      "quoted-printable: decoded, CRLF line ends, the encoded LF kept bare")
out, tagged = command(b"FETCH 1 (BINARY.PEEK[3] BINARY.PEEK[1]<2.3> BINARY.PEEK[7])")
check(b"BINARY[3] {5}\r\ncaf\xc3\xa9 " in out, "8bit part as it is, CRLF")
check(b"BINARY[1]<2> {3}\r\n\x02\x03\r" in out, "a partial of the decoded bytes (no NUL in it: a plain literal)")
check(b"BINARY[7] NIL" in out, "a missing part is NIL")
out, tagged = command(b"FETCH 1 (BINARY.PEEK[4])")
check(tagged.startswith("NO [UNKNOWN-CTE]"), "an unknown transfer encoding is NO [UNKNOWN-CTE]")
out, tagged = command(b"FETCH 1 (BINARY.PEEK[] BODY.PEEK[])")
whole = b"{%d}\r\n" % len(message) + message
check(out.count(whole) == 2, "BINARY[] is the message as BODY[] gives it")
out, tagged = command(b"FETCH 1 (FLAGS)")
check(b"\\Seen" not in out, "BINARY.PEEK leaves \\Seen alone")
out, tagged = command(b"FETCH 1 (BINARY[3])")
check(b"\\Seen" in out, "BINARY sets \\Seen")

# APPEND with a literal8
clean = b"Subject: literal8\r\n\r\n8-bit \xe9t\xe9\r\n"
out, tagged = command(b"APPEND Binary ~{%d+}" % len(clean), clean + b"\r\n")
check(tagged.startswith("OK [APPENDUID"), "APPEND literal8 of CRLF text: stored")
uid = int(re.search(r"APPENDUID \d+ (\d+)", tagged).group(1))
out, tagged = command(b"UID FETCH %d (BODY.PEEK[])" % uid)
check(b"{%d}\r\n" % len(clean) + clean in out, "and given back byte for byte")
for what, data in (("a NUL", b"Subject: x\r\n\r\na\x00b\r\n"), ("a bare LF", b"Subject: x\r\n\r\na\nb\r\n")):
    out, tagged = command(b"APPEND Binary ~{%d+}" % len(data), data + b"\r\n")
    check(tagged.startswith("NO [UNKNOWN-CTE]"), f"APPEND literal8 with {what}: NO [UNKNOWN-CTE]")
out, tagged = command(b"STATUS Binary (MESSAGES)")
check(b"MESSAGES 2" in out, "nothing stored by the refused ones")
out, tagged = command(b"NOOP")
check(tagged.startswith("OK"), "the session goes on")
M.logout()
print("BINARY OK")
