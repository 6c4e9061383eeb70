#!/usr/bin/env python3
"""Submit with Python's smtplib the way a mail client does: EHLO, STARTTLS
(or implicit TLS), AUTH LOGIN or PLAIN, one message to several recipients.
Usage: smtplib_submit.py starttls|implicit PORT MECHANISM SUBJECT RCPT..."""
import smtplib
import ssl
import sys
from email.message import EmailMessage

mode, port, mech, subject, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "implicit":
    s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("laptop.example")
    assert s.has_extn("starttls"), "STARTTLS not offered"
    s.starttls(context=ctx)
s.ehlo("laptop.example")
assert "PLAIN" in s.esmtp_features["auth"] and "LOGIN" in s.esmtp_features["auth"]
s.user, s.password = "alice@example.test", "pw-alice"
code, _ = s.auth(mech, s.auth_plain if mech == "PLAIN" else s.auth_login)
assert code == 235, code
m = EmailMessage()
m["From"] = "Alice <alice@example.test>"
m["To"] = ", ".join(rcpts)
m["Subject"] = subject
m.set_content("Grüße from smtplib\n.\nA line with a lone dot above.\n")
refused = s.send_message(m, from_addr="alice@example.test", to_addrs=rcpts)
assert refused == {}, refused
s.quit()
print("sent")
