#!/usr/bin/python3
"""dkim_cases.py DIR ZONE.json: messages signed by dkimpy (python3-dkim)
in every canonicalization, with ed25519 (python3-nacl), l=, a short RSA
key, and changed after signing; their keys added to ZONE.json for the
tests' DNS server. Writes DIR/NAME.eml (CRLF, as over SMTP) and prints
one line per message: NAME and what dkimpy's own verification says
(pass or fail)."""
import base64
import json
import subprocess
import sys

import dkim
import nacl.signing

out, zone_path = sys.argv[1], sys.argv[2]
zone = json.load(open(zone_path))


def rsa_key(bits, selector):
    pem = subprocess.run(["openssl", "genrsa", str(bits)], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    zone[f"{selector}._domainkey.signer.example"] = {"TXT": ["v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()]}
    return pem


def ed_key(selector):
    sk = nacl.signing.SigningKey.generate()
    pub = base64.b64encode(bytes(sk.verify_key)).decode()
    zone[f"{selector}._domainkey.signer.example"] = {"TXT": [f"v=DKIM1; k=ed25519; p={pub}"]}
    return base64.b64encode(bytes(sk))


rsa = rsa_key(2048, "rsa")
short = rsa_key(512, "short")
ed = ed_key("ed")
body = (b"Hello,\r\n\r\nA line  with \t spaces   \r\n\ttabbed line\r\n"
        b"=?utf-8?q?not_decoded?=\r\n.leading dot\r\n\r\n\r\n\r\n")
base = (b"From: Carol <carol@signer.example>\r\nTo: alice@example.test\r\n"
        b"Subject:  a   subject\r\n  folded\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
        b"Message-ID: <x@signer.example>\r\n\r\n" + body)


def sign(msg, key, selector, canon, alg=b"rsa-sha256", length=False):
    sig = dkim.sign(msg, selector.encode(), b"signer.example", key, canonicalize=canon, signature_algorithm=alg,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"], length=length)
    return sig + msg


cases = {}
for hc in (b"simple", b"relaxed"):
    for bc in (b"simple", b"relaxed"):
        cases[f"rsa-{hc.decode()}-{bc.decode()}"] = sign(base, rsa, "rsa", (hc, bc))
cases["ed25519"] = sign(base, ed, "ed", (b"relaxed", b"relaxed"), alg=b"ed25519-sha256")
cases["ed25519-simple"] = sign(base, ed, "ed", (b"simple", b"simple"), alg=b"ed25519-sha256")
cases["length-appended"] = sign(base, rsa, "rsa", (b"relaxed", b"relaxed"), length=True) + b"appended after signing\r\n"
cases["body-changed"] = sign(base, rsa, "rsa", (b"relaxed", b"relaxed")).replace(b"A line", b"A lime")
cases["subject-refolded-simple"] = sign(base, rsa, "rsa", (b"simple", b"simple")).replace(b"a   subject\r\n  folded",
                                                                                        b"a subject folded")
cases["subject-refolded-relaxed"] = sign(base, rsa, "rsa", (b"relaxed", b"simple")).replace(
    b"a   subject\r\n  folded", b"a\r\n\tsubject folded")
cases["short-key"] = sign(base, short, "short", (b"relaxed", b"relaxed"))
json.dump(zone, open(zone_path, "w"))


def dnsfunc(name, timeout=5):
    name = (name.decode() if isinstance(name, bytes) else name).rstrip(".")
    rec = zone.get(name, {}).get("TXT")
    return rec[0].encode() if rec else None


for name, msg in cases.items():
    open(f"{out}/{name}.eml", "wb").write(msg)
    print(name, "pass" if dkim.verify(msg, dnsfunc=dnsfunc) else "fail")
