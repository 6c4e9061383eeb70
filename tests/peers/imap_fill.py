#!/usr/bin/env python3
"""Fill an outside IMAP mailbox for mail-fetch tests and benchmarks.

imap_fill.py PORT USER PASSWORD [--folder F] [--count N] [--size BYTES]
             [--start K] [--flags '\\Seen'] [--date 'DD-Mon-YYYY HH:MM:SS +0000']

Message K (from --start) has Subject "msg K", Message-ID <K.F@outside.test>
and a body padded to about BYTES. Creates the folder when missing."""
import argparse
import imaplib


def message(k, folder, size):
    head = (f"Return-Path: <sender{k}@outside.test>\r\nFrom: Sender {k} <sender{k}@outside.test>\r\n"
            f"To: carol@outside.test\r\nSubject: msg {k}\r\n"
            f"Message-ID: <{k}.{folder.replace('/', '-')}@outside.test>\r\n"
            f"Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\n")
    body = f"body of message {k} in {folder}\r\n"
    line = ("lorem ipsum dolor sit amet " * 3).strip() + "\r\n"
    while len(head) + len(body) < size:
        body += line
    # A line starting with a dot, for the POP3 and IMAP transparency.
    body += ".a line with a leading dot\r\n"
    return (head + body).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--folder", default="INBOX")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--size", type=int, default=600)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--flags", default="")
    ap.add_argument("--date", default="")
    a = ap.parse_args()
    m = imaplib.IMAP4("127.0.0.1", a.port)
    m.login(a.user, a.password)
    if a.folder != "INBOX":
        m.create(a.folder)
    date = f'"{a.date}"' if a.date else None
    flags = f"({a.flags})" if a.flags else None
    for k in range(a.start, a.start + a.count):
        typ, _ = m.append(a.folder, flags, date, message(k, a.folder, a.size))
        assert typ == "OK"
    m.logout()


if __name__ == "__main__":
    main()
