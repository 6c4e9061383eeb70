#!/usr/bin/env python3
"""Grow the fuzz seed corpora from what the tests and benchmarks already say:
the client lines of the SMTP, IMAP and POP3 dialogues, the messages they
send, the server replies they expect, every configuration key, and messages
made like the benchmark corpus. Each seed is named by its SHA-1, so running
this again adds only what is new: python3 tests/fuzz/grow_seeds.py"""
import glob
import hashlib
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_PER_TARGET = 120


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").encode("utf-8", "surrogateescape")


def dialogue(proto):
    """(client lines, raw blobs, server lines) of every dialogue of `proto`."""
    client, raw, server = [], [], []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "dialogues", proto, "*.txt"))):
        for line in open(path, encoding="utf-8", errors="surrogateescape"):
            line = line.rstrip("\n")
            if line.startswith("> "):
                client.append(line[2:].encode("utf-8", "surrogateescape"))
            elif line.startswith(">raw "):
                raw.append(unescape(line[5:]))
            elif line.startswith("< ") or line.startswith("<* "):
                server.append(line.split(" ", 1)[1].encode("utf-8", "surrogateescape"))
    return client, raw, server


def messages_in(raws):
    """The messages (LF line ends, without the final dot) sent with DATA."""
    out = []
    for r in raws:
        m = r.split(b"\r\n.\r\n")[0]
        if b":" in m.split(b"\n")[0]:
            out.append(m.replace(b"\r\n", b"\n").replace(b"\n..", b"\n."))
    return out


def bench_messages(n=12):
    words = "invoice meeting report budget caf\u00e9 r\u00e9union planning".split()
    rnd = random.Random(7)
    out = []
    for i in range(n):
        text = "\n".join(" ".join(rnd.choice(words) for _ in range(8)) for _ in range(1 + i))
        kind = i % 4
        head = (f"From: Sender {i} <s{i}@example.net>\nTo: Alice <alice@example.test>, \"B, b\" <b@x.test>\n"
                f"Subject: =?utf-8?q?r=C3=A9union?= {i}\nDate: Mon, 1 Jan 2024 10:00:{i:02d} +0000\n"
                f"Message-ID: <{i}.bench@example.net>\nMIME-Version: 1.0\n")
        if kind == 0:
            m = head + f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
        elif kind == 1:
            m = head + ("Content-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\n"
                        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
                        "caf=E9 =\nsoft\n--alt\nContent-Type: text/html\n\n<html><body><p>hi</p></body></html>\n--alt--\n")
        elif kind == 2:
            m = head + ("Content-Type: multipart/mixed; boundary=mix\n\n--mix\nContent-Type: text/plain\n\nsee attached\n"
                        "--mix\nContent-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
                        "Content-Disposition: attachment; filename=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
                        "JVBERi0xLjQKJcfs\n--mix\nContent-Type: message/rfc822\n\nSubject: inner\n\nbody\n--mix--\n")
        else:
            m = head + ("Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\n\n"
                        "failed\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
                        "Final-Recipient: rfc822; b@x.test\nAction: failed\nStatus: 5.1.1\n--r--\n")
        out.append(m.encode())
    return out


def config_seeds():
    text = open(os.path.join(ROOT, "libmail", "base", "config.cpp")).read()
    sections = ["", "delivery", "smtpd", "queue", "fetch", "outbound", "tls", "imapd"]
    values = ['"10M"', "30", "true", '"x"', '"5m"', '"off"', "0", "-1", '"a,b"', '"starttls"']
    out = []
    for i, key in enumerate(sorted(set(re.findall(r'\{"([a-z_.]+)", ', text)))):
        sec, _, name = key.rpartition(".")
        v = values[i % len(values)]
        out.append(f"{key} = {v}\n".encode())
        if sec in sections:  # the fuzzer's first byte picks the section
            out.append(bytes([sections.index(sec)]) + f"{name} = {v}\n".encode())
    return out


def queue_file(i, message):
    """A queue file (spool/envelope.hpp) around `message`, with DSN parameters."""
    sender = "" if i % 3 == 0 else f"s{i}@example.net"
    env = f"facteur-queue 1\nid 1764410000.{i}.P1Q1\narrived {1764410000 + i}\nfrom\t{sender}\n"
    if i % 2:
        env += f"dsn ret={'HDRS' if i % 4 == 1 else 'FULL'} envid=env+2B{i}\n"
    if i % 5 == 0:
        env += "mail body=8BITMIME smtputf8=yes\n"
    env += f"rcpt\tbob{i}@example.org\tnotify={'FAILURE,DELAY' if i % 2 else 'NEVER'}\torcpt=rfc822;bob+2B{i}@example.org\n"
    env += "rcpt\t\"john doe\"@example.org\n" if i % 3 == 1 else ""
    env += f"client ip=127.0.0.1 helo=c{i} tls=TLSv1.3 auth=-\n\n"
    return env.encode() + message


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    have = len(os.listdir(d))
    for s in seeds:
        if have >= MAX_PER_TARGET:
            break
        p = os.path.join(d, hashlib.sha1(s).hexdigest()[:16])
        if not os.path.exists(p):
            open(p, "wb").write(s)
            have += 1


def main():
    smtp_c, smtp_raw, smtp_s = dialogue("smtp")
    imap_c, imap_raw, imap_s = dialogue("imap")
    pop3_c, _, pop3_s = dialogue("pop3")
    msgs = messages_in(smtp_raw) + [r for r in imap_raw if b"\n" in r] + bench_messages()
    write("fuzz_smtp_command", smtp_c)
    write("fuzz_smtp_data", smtp_raw)
    write("fuzz_smtp_reply", [s.replace(b" ", b"-", 1) + b"\n" + s for s in smtp_s if s[:3].isdigit()])
    write("fuzz_smtp_ehlo", [b"PIPELINING\nSIZE 10240000\nSTARTTLS\nAUTH PLAIN LOGIN\n8BITMIME\nDSN\nSMTPUTF8",
                             b"size\nauth=login plain\nENHANCEDSTATUSCODES"])
    write("fuzz_imap_command", [c + b"\r\n" for c in imap_c])
    write("fuzz_imap_response", [s + b"\r\n" for s in imap_s])
    write("fuzz_pop3_command", pop3_c)
    write("fuzz_fetch_pop3", [b"\r\n".join(pop3_s) + b"\r\n",
                              b"+OK\r\n1 uid-1\r\n2 uid-2\r\n.\r\n+OK\r\n1 120\r\n2 4000 extra\r\n.\r\n"])
    for t in ("fuzz_header", "fuzz_mime", "fuzz_signature", "fuzz_dkim", "fuzz_imap_message",
              "fuzz_imap_structure"):
        write(t, msgs)
    write("fuzz_address", [l.split(b":", 1)[1].strip() for m in msgs for l in m.split(b"\n")
                           if re.match(rb"(?i)(from|to|cc|sender|reply-to):", l)])
    write("fuzz_config", config_seeds())
    write("fuzz_imap_envelope", msgs)
    write("fuzz_mutf7", [n for c in imap_c for n in re.findall(rb'"([^"]*)"', c)])
    envelopes = [queue_file(i, m) for i, m in enumerate(msgs[:40])]
    write("fuzz_queue_envelope", envelopes)
    write("fuzz_bounce", envelopes)


if __name__ == "__main__":
    main()
