#!/usr/bin/env python3
"""A minimal SMTP server that keeps the exact bytes of DATA: raw_sink.py
HOST PORT OUTFILE. Serves connections one after the other until killed,
answers 250 to everything, and writes what came between the 354 and the
final CRLF.CRLF (inclusive) to OUTFILE. For checking line ends and
dot-stuffing on the wire."""
import socket
import sys

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# --broken-tls: offer STARTTLS, then answer the handshake with garbage
broken_tls = "--broken-tls" in sys.argv[4:]
# --drop-in-data: close the connection in the middle of the message
drop_in_data = "--drop-in-data" in sys.argv[4:]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(1)


def serve(conn):
    conn.settimeout(30)
    conn.sendall(b"220 raw-sink ESMTP\r\n")
    buf = b""
    data = None
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        if data is None:
            while b"\r\n" in buf and data is None:
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"EHLO":
                    tls = b"250-STARTTLS\r\n" if broken_tls else b""
                    conn.sendall(b"250-raw-sink\r\n" + tls + b"250-8BITMIME\r\n250 PIPELINING\r\n")
                elif line.upper() == b"STARTTLS" and broken_tls:
                    conn.sendall(b"220 go ahead\r\n")
                    conn.recv(65536)
                    conn.sendall(b"this is not TLS\r\n")
                    return
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    data = b""
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
        if data is not None:
            data += buf
            buf = b""
            if drop_in_data and data:
                return
            if data.endswith(b"\r\n.\r\n"):
                open(out, "wb").write(data)
                conn.sendall(b"250 2.0.0 kept\r\n")
                data = None


while True:
    conn, _ = srv.accept()
    try:
        serve(conn)
    except OSError:
        pass
    conn.close()
