#!/usr/bin/env python3
"""THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256) through
imaplib, as webmail asks for them. usage: imap_thread.py PORT"""
import imaplib
import sys

from imapraw import check, session

m = session(int(sys.argv[1]), "alice@example.test", "pw-alice")
m.create("Threads")


def add(n, subject, mid, extra=""):
    msg = (f"Subject: {subject}\r\nMessage-ID: <{mid}@x.test>\r\nDate: Mon, 1 Jan 2024 10:00:0{n} +0000\r\n"
           f"{extra}\r\nbody {n}\r\n")
    m.append("Threads", None, None, msg.encode())


add(1, "Plan", "a")
add(2, "Re: Plan", "b", "In-Reply-To: <a@x.test>\r\n")
add(3, "Lunch", "c")
add(4, "Re: Plan", "d", "References: <a@x.test> <b@x.test>\r\n")
add(5, "Re: Plan", "e", "References: <a@x.test>\r\n")
add(6, "Re: Lunch", "f")  # no references: joined by its subject
m.select("Threads")
check("THREAD=REFERENCES" in m.capabilities and "THREAD=ORDEREDSUBJECT" in m.capabilities, "THREAD offered")
typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
check(typ == "OK" and data[0] == b"(1 (2 4)(5))(3 6)", "REFERENCES: " + repr(data))
typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT", "plan")
check(typ == "OK" and data[0] == b"(1 (2 4)(5))", "UID THREAD over a search: " + repr(data))
typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
check(typ == "OK" and data[0] == b"(1 (2)(4)(5))(3 6)", "ORDEREDSUBJECT: " + repr(data))
try:
    m.thread("NOSUCH", "UTF-8", "ALL")
    check(False, "an unknown algorithm is refused")
except imaplib.IMAP4.error:
    check(True, "an unknown algorithm is refused")
m.close()
m.delete("Threads")
m.logout()
