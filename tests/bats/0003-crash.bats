#!/usr/bin/env bats
# Crash safety: SIGKILL mail-deliver at random moments during a stream of
# deliveries; nothing acknowledged is lost, nothing partial is visible, and
# mail-admin check leaves the index consistent.

load helper

setup() { setup_state; }

@test "kill -9 at random moments loses no acknowledged message" {
	msgs="$BATS_TEST_TMPDIR/msgs"
	mkdir -p "$msgs"
	python3 - "$msgs" <<'PY'
import os, random, sys
random.seed(7)
for i in range(120):
    size = random.choice([200, 5000, 80000, 400000])
    body = bytes(random.getrandbits(7) | 0x20 for _ in range(size)).replace(b"\x7f", b"x")
    body = b"\n".join(body[j:j + 76] for j in range(0, len(body), 76))
    open(os.path.join(sys.argv[1], str(i)), "wb").write(
        b"X-Seq: %d\nSubject: crash test %d\n\n" % (i, i) + body + b"\n")
PY
	: > "$BATS_TEST_TMPDIR/results"
	for i in $(seq 0 119); do
		mail-deliver alice@example.test < "$msgs/$i" 2>/dev/null &
		pid=$!
		# Kill somewhere between "not started" and "long done".
		sleep "0.00$((RANDOM % 9))$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		rc=0
		wait "$pid" || rc=$?
		echo "$i $rc" >> "$BATS_TEST_TMPDIR/results"
	done
	run python3 "$BATS_TEST_DIRNAME/crash_check.py" "$MAIL/alice" "$msgs" "$BATS_TEST_TMPDIR/results"
	echo "$output"
	assert_success
	# The index may miss files delivered just before a kill; check repairs it.
	mail-admin check --repair >/dev/null
	run mail-admin check
	assert_success
	run python3 -c "
import sqlite3, os
db = sqlite3.connect('$MAIL/alice/index.sqlite')
n = db.execute('select count(*) from messages').fetchone()[0]
files = len(os.listdir('$MAIL/alice/new')) + len(os.listdir('$MAIL/alice/cur'))
assert n == files, (n, files)
uids = [r[0] for r in db.execute('select uid from messages')]
assert len(set(uids)) == len(uids)
print(n)"
	assert_success
}
