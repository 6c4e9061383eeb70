#!/usr/bin/env python3
"""Crash test: send COUNT messages to mail-smtpd while mail-smtpd connection
processes and `mail-queue run` are killed with SIGKILL at random moments.
Every message that got 250 must end up delivered, at least once, whole.
Usage: smtp_crash.py BUILD_TOOLS_DIR MAILDIR COUNT"""
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time

tools, maildir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(int(os.environ.get("CRASH_SEED", "1")))
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
log = open(os.environ.get("CRASH_LOG", "/dev/null"), "w")
smtpd = subprocess.Popen([f"{tools}/mail-smtpd", "--listen", f"127.0.0.1:{port}"], stderr=log)
runner = [subprocess.Popen([f"{tools}/mail-queue", "run"], stderr=log)]
acked, lock, done = set(), threading.Lock(), threading.Event()
kills = {"smtpd": 0, "queue": 0}


def message(token):
    body = "".join(f"line {i} of {token}\r\n" for i in range(60))
    return (f"From: carol@elsewhere.test\r\nTo: alice@example.test\r\nSubject: {token}\r\n\r\n"
            f"{body}END-{token}\r\n")


def sender(tokens):
    for token in tokens:
        for attempt in range(50):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
                    c.sendmail("carol@elsewhere.test", ["alice@example.test"], message(token))
                with lock:
                    acked.add(token)
                break
            except (smtplib.SMTPException, OSError):
                time.sleep(0.05)  # a real MTA retries too


def killer():
    while not done.is_set():
        time.sleep(random.uniform(0.003, 0.03))
        if random.random() < 0.85:
            kids = subprocess.run(["pgrep", "-P", str(smtpd.pid)], capture_output=True, text=True).stdout.split()
            try:
                os.kill(int(random.choice(kids)), signal.SIGKILL)
                kills["smtpd"] += 1
            except (IndexError, ProcessLookupError):
                pass  # none running, or it ended before the signal
        else:
            runner[0].kill()
            runner[0].wait()
            kills["queue"] += 1
            runner[0] = subprocess.Popen([f"{tools}/mail-queue", "run"], stderr=log)


for _ in range(50):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        break
    except OSError:
        time.sleep(0.1)
tokens = [f"crash-{i:05d}" for i in range(count)]
threads = [threading.Thread(target=sender, args=(tokens[k::4],)) for k in range(4)]
k = threading.Thread(target=killer)
k.start()
for t in threads:
    t.start()
for t in threads:
    t.join()
done.set()
k.join()
runner[0].kill()
runner[0].wait()
subprocess.run([f"{tools}/mail-queue", "run", "--once"], stderr=log, check=True)
smtpd.kill()

found, truncated = {}, []
for sub in ("new", "cur"):
    for name in os.listdir(os.path.join(maildir, sub)):
        text = open(os.path.join(maildir, sub, name), encoding="utf-8").read()
        subject = next(l[9:] for l in text.split("\n") if l.startswith("Subject: "))
        found[subject] = found.get(subject, 0) + 1
        if not text.endswith(f"END-{subject}\n"):
            truncated.append(name)
lost = sorted(acked - set(found))
dups = sum(n - 1 for n in found.values())
print(f"acked {len(acked)} of {count}, delivered {len(found)} distinct, {dups} duplicates, "
      f"kills: {kills['smtpd']} smtpd, {kills['queue']} queue runner; "
      f"lost {len(lost)}, truncated {len(truncated)}")
if lost or truncated or len(acked) < count * 0.5:
    print("lost:", lost[:10], "truncated:", truncated[:10])
    sys.exit(1)
