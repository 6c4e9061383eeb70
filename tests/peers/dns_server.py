#!/usr/bin/python3
"""A DNS server for the tests (python3-dnslib), on loopback UDP and TCP.

usage: dns_server.py PORT ZONE.json

ZONE.json, read again for every question so that a test may change it:
  {"example.com": {"TXT": ["v=spf1 -all", ["two ", "strings"]], "A": ["192.0.2.1"],
                   "AAAA": [...], "MX": ["mx.example.com"], "PTR": [...]},
   "_servfail": ["broken.example"], "_timeout": ["slow.example"]}
A name with records of other types answers NOERROR with no data; a name in
_servfail answers SERVFAIL, one in _timeout never answers; any other name
is NXDOMAIN. A TXT string longer than 255 octets is split into several.
"""
import json
import sys
import time

from dnslib import AAAA, A, MX, PTR, QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer


class Zone(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        zone = json.load(open(self.path))
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        if name in zone.get("_timeout", []):
            time.sleep(30)
            return None
        if name in zone.get("_servfail", []):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in zone:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in zone[name].get(qtype, []):
            if qtype == "TXT":
                parts = value if isinstance(value, list) else [value]
                chunks = []
                for p in parts:
                    b = p.encode()
                    chunks += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
                rdata = TXT(chunks)
            elif qtype == "A":
                rdata = A(value)
            elif qtype == "AAAA":
                rdata = AAAA(value)
            elif qtype == "MX":
                rdata = MX(value)
            elif qtype == "PTR":
                rdata = PTR(value)
            else:
                continue
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=60))
        return reply


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    resolver = Zone(path)
    servers = [DNSServer(resolver, port=port, address="127.0.0.1", tcp=tcp) for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    print("ready", flush=True)
    while all(s.isAlive() for s in servers):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
