"""Shared by the test servers here: a listening socket on a free loopback
port, the port written to PORTFILE (the tests wait for that file)."""
import socket


def listen(portfile):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    with open(portfile, "w") as f:
        f.write(str(srv.getsockname()[1]))
    return srv
