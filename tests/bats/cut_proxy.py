#!/usr/bin/env python3
"""A TCP proxy that cuts the connection in the middle of a transfer.

cut_proxy.py PORTFILE TARGET_PORT CUT_BYTES
Forwards one connection at a time to 127.0.0.1:TARGET_PORT and closes both
sides once CUT_BYTES have gone from the server to the client: the server
is "gone mid-transfer" at a byte position the test chooses."""
import socket
import sys
import threading

from listener import listen

portfile, target, cut = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
srv = listen(portfile)


def up(client, server):
    try:
        while True:
            b = client.recv(65536)
            if not b:
                break
            server.sendall(b)
    except OSError:
        pass


while True:
    c, _ = srv.accept()
    s = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=up, args=(c, s), daemon=True).start()
    sent = 0
    try:
        while sent < cut:
            b = s.recv(min(65536, cut - sent))
            if not b:
                break
            c.sendall(b)
            sent += len(b)
    except OSError:
        pass
    for x in (c, s):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        x.close()
