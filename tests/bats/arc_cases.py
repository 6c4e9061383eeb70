#!/usr/bin/python3
"""arc_cases.py DIR ZONE.json: messages sealed with ARC (RFC 8617) by
dkimpy (python3-dkim) at one or two intermediaries, and changed or
tampered with along the way; the intermediaries' keys added to ZONE.json
for the tests' DNS server. Writes DIR/NAME.eml (CRLF) and prints one line
per message: NAME and what dkimpy's own arc_verify says (none, pass,
fail)."""
import base64
import json
import subprocess
import sys

import dkim

out, zone_path = sys.argv[1], sys.argv[2]
zone = json.load(open(zone_path))
keys = {}
for domain in ("lists.example", "fwd.example"):
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    zone[f"arc._domainkey.{domain}"] = {"TXT": ["v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()]}
    keys[domain] = pem
json.dump(zone, open(zone_path, "w"))


def dns(name, timeout=5):
    name = name.decode().rstrip(".") if isinstance(name, bytes) else name.rstrip(".")
    txt = zone.get(name, {}).get("TXT")
    return txt[0].encode() if txt else None


def seal(msg, domain):
    """What an intermediary does: its Authentication-Results (with its
    verdict on the chain so far), then its ARC set on top."""
    cv, _, _ = dkim.arc_verify(msg, dnsfunc=dns)
    arc = "" if cv == b"none" else f"; arc={cv.decode()}"
    msg = f"Authentication-Results: {domain}; spf=pass smtp.mailfrom=carol@origin.example{arc}\r\n".encode() + msg
    headers = dkim.arc_sign(msg, b"arc", domain.encode(), keys[domain], domain.encode(),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return b"".join(headers) + msg


base = (b"From: Carol <carol@origin.example>\r\nTo: team@lists.example\r\nSubject: the plan\r\n"
        b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <plan@origin.example>\r\n\r\n"
        b"Here is the plan.\r\n")
one = seal(base, "lists.example")
cases = {
    "none": base,
    "one-hop": one,
    "two-hops": seal(one, "fwd.example"),
    "changed-after-seal": one.replace(b"the plan.", b"the new plan."),
    "changed-between-hops": seal(one.replace(b"the plan.", b"the new plan."), "fwd.example"),
    "seal-tampered": one.replace(b"cv=none", b"cv=pass"),
    "results-tampered": one.replace(b"i=1; lists.example; spf=pass", b"i=1; lists.example; spf=fail"),
    "set-removed": b"".join(l + b"\r\n" for l in seal(one, "fwd.example").split(b"\r\n")
                            if not l.startswith(b"ARC-Authentication-Results: i=1"))[:-2],
}
for name, msg in cases.items():
    open(f"{out}/{name}.eml", "wb").write(msg)
    cv, _, _ = dkim.arc_verify(msg, dnsfunc=dns)
    print(name, cv.decode() if cv else "fail")  # dkimpy gives None for a chain it cannot read
