#!/usr/bin/env python3
"""A fake IMAP or POP3 server that attacks a client's STARTTLS.

fake_starttls.py PORTFILE MODE LOG
MODE: imap-missing (no STARTTLS offered), imap-refuse (STARTTLS answered NO),
imap-inject (plaintext sent right after the OK to STARTTLS), and the same
for pop3 (STLS). Writes its port to PORTFILE, every line it receives to LOG,
serves connections until killed. A client that is right never sends its
credentials here."""
import sys

from listener import listen

portfile, mode, logname = sys.argv[1:4]
proto, attack = mode.split("-")
srv = listen(portfile)
log = open(logname, "a", buffering=1)
caps = "IMAP4rev1 AUTH=PLAIN" + ("" if attack == "missing" else " STARTTLS")

while True:
    c, _ = srv.accept()
    f = c.makefile("rb")
    send = lambda s: c.sendall(s.encode())
    send("* OK [CAPABILITY %s] fake ready\r\n" % caps if proto == "imap" else "+OK fake ready\r\n")
    try:
        for raw in f:
            line = raw.decode(errors="replace").rstrip("\r\n")
            log.write(line + "\n")
            if proto == "imap":
                tag, _, rest = line.partition(" ")
                cmd = rest.split(" ")[0].upper()
                if cmd == "CAPABILITY":
                    send("* CAPABILITY %s\r\n%s OK done\r\n" % (caps, tag))
                elif cmd == "STARTTLS":
                    if attack == "refuse":
                        send("%s NO not today\r\n" % tag)
                    else:
                        send("%s OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n" % tag)
                elif cmd == "LOGOUT":
                    send("* BYE\r\n%s OK bye\r\n" % tag)
                    break
                else:
                    send("%s NO no\r\n" % tag)
            else:
                cmd = line.split(" ")[0].upper()
                if cmd == "CAPA":
                    send("+OK\r\nUSER\r\nUIDL\r\n%s.\r\n" % ("" if attack == "missing" else "STLS\r\n"))
                elif cmd == "STLS":
                    if attack == "refuse":
                        send("-ERR not today\r\n")
                    else:
                        send("+OK begin TLS\r\n+OK injected\r\n")
                elif cmd == "QUIT":
                    send("+OK bye\r\n")
                    break
                else:
                    send("-ERR no\r\n")
    except OSError:
        pass
    c.close()
