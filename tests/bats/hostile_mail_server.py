#!/usr/bin/env python3
"""hostile_mail_server.py PORTFILE MODE LOG: a plain-text IMAP or POP3
server on loopback that misbehaves once the client asks for mail. It logs
the commands it receives and, when the client hangs up, how many bytes of
its misbehaviour it managed to send ("sent N").

Modes:
  imap-big-literal   lists a 100-byte message, then sends BODY[] {9999999999}
                     and streams bytes for as long as the client reads
  imap-endless       answers the size listing with endless untagged lines
  imap-slow          answers the size listing with one untagged line every
                     0.3 s, never the tagged end
  imap-high-uid      a message with UID 4294967295 (the last possible one)
  pop3-endless-retr  lists a 100-byte message, RETR never ends
"""
import socket
import sys
import time

from listener import listen

portfile, mode, logpath = sys.argv[1], sys.argv[2], sys.argv[3]
log = open(logpath, "a", buffering=1)


def endless(c, piece, pause=0.0):
    sent = 0
    try:
        while True:
            c.sendall(piece)
            sent += len(piece)
            if pause:
                time.sleep(pause)
    except OSError:
        log.write(f"sent {sent}\n")


def imap(c, f):
    c.sendall(b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] hostile ready\r\n")
    uid = 4294967295 if mode == "imap-high-uid" else 1
    for raw in f:
        line = raw.decode(errors="replace").rstrip("\r\n")
        log.write(line + "\n")
        tag, _, rest = line.partition(" ")
        cmd = rest.upper()
        if cmd.startswith("CAPABILITY"):
            c.sendall(b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n" + tag.encode() + b" OK done\r\n")
        elif cmd.startswith("LOGIN"):
            c.sendall(tag.encode() + b" OK logged in\r\n")
        elif cmd.startswith("LIST"):
            c.sendall(b'* LIST () "/" INBOX\r\n' + tag.encode() + b" OK done\r\n")
        elif cmd.startswith("SELECT") or cmd.startswith("EXAMINE"):
            # No UIDNEXT (it is optional): the client must ask for sizes.
            c.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag.encode() + b" OK [READ-WRITE] done\r\n")
        elif cmd.startswith("UID FETCH") and "RFC822.SIZE)" in cmd and "BODY" not in cmd:
            head = b"* 1 FETCH (UID %d RFC822.SIZE 100)\r\n" % uid
            if mode == "imap-endless":
                return endless(c, head * 1000)
            if mode == "imap-slow":
                return endless(c, head, 0.3)
            c.sendall(head + tag.encode() + b" OK done\r\n")
        elif cmd.startswith("UID FETCH"):
            if mode == "imap-big-literal":
                c.sendall(b"* 1 FETCH (UID 1 BODY[] {9999999999}\r\n")
                return endless(c, b"X" * 65536)
            body = b"Subject: hi\r\nMessage-ID: <hi@hostile.test>\r\n\r\n" + b"x" * 50 + b"\r\n"
            c.sendall(b"* 1 FETCH (UID %d RFC822.SIZE %d FLAGS () BODY[] {%d}\r\n" % (uid, len(body), len(body))
                      + body + b")\r\n" + tag.encode() + b" OK done\r\n")
        elif cmd.startswith("LOGOUT"):
            c.sendall(b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
            return
        else:
            c.sendall(tag.encode() + b" OK done\r\n")


def pop3(c, f):
    c.sendall(b"+OK hostile ready\r\n")
    for raw in f:
        line = raw.decode(errors="replace").rstrip("\r\n")
        log.write(line + "\n")
        cmd = line.upper()
        if cmd.startswith("CAPA"):
            c.sendall(b"+OK\r\nUSER\r\nUIDL\r\n.\r\n")
        elif cmd.startswith("UIDL"):
            c.sendall(b"+OK\r\n1 abc\r\n.\r\n")
        elif cmd.startswith("LIST"):
            c.sendall(b"+OK\r\n1 100\r\n.\r\n")
        elif cmd.startswith("RETR"):
            c.sendall(b"+OK\r\nSubject: endless\r\n\r\n")
            return endless(c, b"y" * 998 + b"\r\n")
        elif cmd.startswith("QUIT"):
            c.sendall(b"+OK bye\r\n")
            return
        else:
            c.sendall(b"+OK\r\n")


srv = listen(portfile)
while True:
    conn, _ = srv.accept()
    with conn, conn.makefile("rb") as reader:
        try:
            (pop3 if mode.startswith("pop3") else imap)(conn, reader)
        except OSError:
            pass
