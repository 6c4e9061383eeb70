#!/usr/bin/env python3
"""silent_server.py PORTFILE: accepts connections and never says a word."""
import sys

from listener import listen

srv = listen(sys.argv[1])
conns = []
while True:
    c, _ = srv.accept()
    conns.append(c)
