#!/usr/bin/env python3
"""COMPRESS=DEFLATE (RFC 4978) with imaplib over a raw deflate stream each
way: the OK goes out uncompressed, then every command and response is
compressed (a big FETCH takes fewer bytes on the wire than its literal); a
command pipelined right behind COMPRESS is read compressed; a second
COMPRESS is NO [COMPRESSIONACTIVE]; garbage instead of deflate data ends
that session only. usage: imap_compress.py PORT"""
import imaplib
import socket
import sys
import zlib

from imapraw import check, command, raw, session

imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")
port = int(sys.argv[1])


class Deflated:
    """Turns an imaplib session's socket I/O into raw deflate streams."""

    def __init__(self, M, pending=b""):
        self.M, self.wire_in = M, 0
        self.co = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.do = zlib.decompressobj(-15)
        self.buf = self.do.decompress(pending)
        M.send = self.send
        M.read = self.read
        M.readline = self.readline

    def send(self, data):
        self.M.sock.sendall(self.co.compress(data) + self.co.flush(zlib.Z_SYNC_FLUSH))

    def more(self):
        d = self.M.sock.recv(65536)
        if not d:
            raise EOFError("server closed")
        self.wire_in += len(d)
        self.buf += self.do.decompress(d)

    def read(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def readline(self):
        while b"\n" not in self.buf:
            self.more()
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out


M = session(port, "alice@example.test", "pw-alice")
check("COMPRESS=DEFLATE" in M.capabilities, "COMPRESS=DEFLATE advertised")
typ, data = M._simple_command("COMPRESS", "DEFLATE")
check(typ == "OK", f"COMPRESS DEFLATE: {typ} {data}")
# imaplib read the OK line through its own buffered file: nothing more is there.
z = Deflated(M)
body = b"Subject: compressed\r\n\r\n" + b"the same words again and again\r\n" * 6000
typ, data = M.append("INBOX", None, None, body)
check(typ == "OK", "APPEND through the compressed stream")
typ, data = M.select("INBOX")
check(typ == "OK", "SELECT")
n = int(data[0])
before = z.wire_in
out, tagged = command(M, f"FETCH {n} BODY.PEEK[]".encode())
check(tagged.startswith("OK") and body in out, "FETCH gives the message back whole")
check(z.wire_in - before < len(body) // 10, f"and it came compressed ({z.wire_in - before} bytes on the wire for {len(body)})")
lines, tagged = raw(M, "COMPRESS DEFLATE")
check(tagged.startswith("NO [COMPRESSIONACTIVE]"), "a second COMPRESS: " + tagged)
M.logout()

def compressing(after):
    """A raw session: LOGIN, then COMPRESS DEFLATE with `after` (bytes) sent
    right behind it. Returns the socket and the bytes the server sent after
    its clear "b OK" (compressed), read without a buffer in between."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"a LOGIN alice@example.test pw-alice\r\nb COMPRESS DEFLATE\r\n" + after)
    buf = b""
    while b"\r\nb OK" not in buf and not buf.startswith(b"b OK"):
        d = s.recv(4096)
        if not d:
            sys.exit("FAIL: no answer to COMPRESS")
        buf += d
    i = buf.index(b"b OK")
    end = buf.index(b"\r\n", i) + 2
    check(buf[i:end].startswith(b"b OK"), "COMPRESS answered in clear")
    return s, buf[end:]


def drain(s, rest, until=None):
    """What the server sends, inflated, up to its end of stream (or until
    `until` is in it); and whether the stream ended."""
    do = zlib.decompressobj(-15)
    got = do.decompress(rest)
    try:
        while until is None or until not in got:
            d = s.recv(4096)
            if not d:
                return got, True
            got += do.decompress(d)
    except socket.timeout:
        pass
    return got, False


# A command pipelined right after COMPRESS, already compressed.
co = zlib.compressobj(6, zlib.DEFLATED, -15)
s, rest = compressing(co.compress(b"c NOOP\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
got, _ = drain(s, rest, b"c OK")
check(b"c OK" in got, "the NOOP sent with it was inflated and answered: " + repr(got[:80]))
s.close()

# Garbage where deflate data should be: that session ends, the server lives.
s, rest = compressing(b"")
s.sendall(b"\xff\xfe not deflate at all \x00\x01" * 10)
got, closed = drain(s, rest)
check(closed and got == b"", "garbage: the session is closed: " + repr(got[:80]))
M = session(port, "alice@example.test", "pw-alice")
check(M.noop()[0] == "OK", "and the server still serves others")
M.logout()
