#!/usr/bin/python3
"""pyspf (python3-spf), an independent SPF implementation, over the same
DNS server as mail-verify: `spf_oracle.py PORT IP SENDER HELO` prints its
result ("pass", "fail", ...)."""
import sys

import dns.resolver
import spf

r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]
r.port = int(sys.argv[1])
r.lifetime = 5
dns.resolver.default_resolver = r
ip, sender, helo = sys.argv[2:5]
result, _ = spf.check2(i=ip, s=sender, h=helo)
print(result)
