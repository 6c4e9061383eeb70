"""What the IMAP client scripts share: a check that says what it proves,
an imaplib session, and raw commands whose untagged lines are kept."""
import imaplib
import re
import sys


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def session(port, user, password):
    M = imaplib.IMAP4("127.0.0.1", port)
    M.login(user, password)
    return M


def raw(M, cmd):
    """Send a raw command; return its untagged lines and the tagged line
    (without the tag), as text."""
    tag = M._new_tag()
    M.send(tag + b" " + cmd.encode() + b"\r\n")
    lines = []
    while True:
        line = M.readline().rstrip(b"\r\n").decode("utf-8", "replace")
        if line.startswith(tag.decode() + " "):
            return lines, line[len(tag) + 1:]
        lines.append(line)


def command(M, cmd, data=b""):
    """Send a command (bytes; `data` goes out right after its line); return
    the response bytes up to the tagged line, literals included, and the
    tagged line (without the tag) as text."""
    tag = M._new_tag()
    M.send(tag + b" " + cmd + b"\r\n" + data)
    out = b""
    while True:
        line = M.readline()
        if line.startswith(tag + b" "):
            return out, line[len(tag) + 1:].rstrip(b"\r\n").decode("utf-8", "replace")
        out += line
        m = re.search(rb"~?\{(\d+)\}\r\n$", line)
        if m:
            out += M.read(int(m.group(1)))
