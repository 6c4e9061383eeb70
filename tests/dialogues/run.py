#!/usr/bin/env python3
"""Run scripted protocol dialogues (send / expect) against a server binary.

Usage: run.py SERVER-BINARY FILE...

The server is started once per file with its stdin/stdout on one end of a
socketpair (the inetd mode), so a dialogue needs no port. A file:

    @args --role submission        extra arguments for the server
    @env TCPREMOTEIP=192.0.2.7     environment for the server
    @config smtpd.max_line = 100   a line added to the server's facteur.toml
    @protocol pop3                 replies are one line; "<<" reads a data block up to "."
    @protocol imap                 "< X" reads one line; "<~ X" reads lines up to one
                                   starting with X (then "<*" looks in all of them)
    > EHLO x                       send the line and CRLF
    >raw MAIL FROM:<a>\r\n         send bytes (Python escapes), nothing added
    >fill 70000                    send that many "x" bytes, nothing added
    < 250 2.1.0                    the next reply's last line starts with this
    <re 250 2\.1\.\d .*             the next reply's last line matches this regex, whole
    <                              (alone) the next line is empty
    <<                             (pop3) the lines of a multi-line answer, up to "."
    <* STARTTLS                    ...and one of its lines contains this
    starttls                       start TLS (client side) on the connection
    closed                         the server closes the connection
    sleep 0.5

Consecutive sends go out in one write (a pipelined group); sends before the
first expectation are written before the server starts. Lines starting
with '#' are comments. Exit status 0 when every file passes.
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time


class Failure(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("connection closed by server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self, pop3=False):
        lines = [self.line()]
        if pop3:
            return lines
        while len(lines[-1]) >= 4 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines

    def closed(self):
        self.sock.settimeout(5)
        try:
            data = self.buf or self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return True
        return data == b""


def run_file(server, path):
    args, env, steps, config = [], dict(os.environ), [], []
    pop3 = False
    imap = False
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if line == "@protocol pop3":
            pop3 = True
        elif line == "@protocol imap":
            imap = True
        elif line.startswith("@args "):
            args += line[6:].split()
        elif line.startswith("@config "):
            config.append(line[8:])
        elif line.startswith("@env "):
            k, v = line[5:].split("=", 1)
            env[k] = v
        else:
            steps.append((n, line))
    if config:
        base = env.get("FACTEUR_CONFIG")
        text = open(base).read() if base and os.path.exists(base) else ""
        tmp = f"{os.environ.get('TMPDIR', '/tmp')}/dialogue-{os.getpid()}.toml"
        with open(tmp, "w") as f:
            f.write("\n".join(config) + "\n" + text)
        env["FACTEUR_CONFIG"] = tmp
    ours, theirs = socket.socketpair()
    early = b""
    while steps and steps[0][1].startswith(">"):
        step = steps.pop(0)[1]
        early += (step[5:].encode("utf-8").decode("unicode_escape").encode("latin-1")
                  if step.startswith(">raw ") else step[2:].encode("utf-8") + b"\r\n")
    ours.sendall(early)
    proc = subprocess.Popen([server] + args, stdin=theirs, stdout=theirs, env=env,
                            stderr=subprocess.PIPE)
    theirs.close()
    ours.settimeout(20)
    conn = Conn(ours)
    pending = b""
    last = []
    try:
        for n, step in steps:
            where = f"{os.path.basename(path)}:{n}"
            if step.startswith(">raw "):
                pending += step[5:].encode("utf-8").decode("unicode_escape").encode("latin-1")
                continue
            if step.startswith(">fill "):
                pending += b"x" * int(step[6:])
                continue
            if step.startswith("> ") or step == ">":
                pending += step[2:].encode("utf-8") + b"\r\n"
                continue
            if pending:
                conn.send(pending)
                pending = b""
            if step.startswith("<* "):
                if not any(step[3:] in l for l in last):
                    raise Failure(f"{where}: no line contains {step[3:]!r} in {last}")
            elif step == "<<":
                last = []
                while (l := conn.line()) != ".":
                    last.append(l)
            elif step.startswith("<~ "):
                last = []
                while True:
                    last.append(conn.line())
                    if last[-1].startswith(step[3:]):
                        break
            elif step == "<":
                last = [conn.line()]
                if last[0] != "":
                    raise Failure(f"{where}: expected an empty line, got {last}")
            elif step.startswith("<re "):
                last = conn.reply(pop3 or imap)
                if not re.fullmatch(step[4:], last[-1]):
                    raise Failure(f"{where}: expected a match of {step[4:]!r}, got {last}")
            elif step.startswith("< "):
                last = conn.reply(pop3 or imap)
                if not last[-1].startswith(step[2:]):
                    raise Failure(f"{where}: expected {step[2:]!r}, got {last}")
            elif step == "starttls":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                conn = Conn(ctx.wrap_socket(conn.sock))
            elif step == "closed":
                if not conn.closed():
                    raise Failure(f"{where}: connection still open")
            elif step.startswith("sleep "):
                time.sleep(float(step[6:]))
            else:
                raise Failure(f"{where}: unknown step {step!r}")
        if pending:
            conn.send(pending)
    finally:
        conn.sock.close()
        ours.close()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    return err.decode("utf-8", "replace")


def main():
    server, files = sys.argv[1], sys.argv[2:]
    failed = 0
    for f in files:
        try:
            run_file(server, f)
            print(f"ok {os.path.basename(f)}")
        except (Failure, OSError) as e:
            failed += 1
            print(f"FAIL {os.path.basename(f)}: {e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
