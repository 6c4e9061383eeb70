#!/usr/bin/env bats
# mail-deliver: address kinds, headers, loops, quota, exit codes, --status,
# verbatim bytes, fault injection, a real Maildir reader, concurrency.

load helper

setup() {
	setup_state
	mail-admin alias add sales@example.test alice@example.test bob@example.test
	mail-admin alias add chain@example.test sales@example.test
	mail-admin group add team@example.test alice@example.test bob@example.test
}

inbox() { find "$MAIL/$1/new" "$MAIL/$1/cur" -type f | sort; }

@test "mailbox: delivered with Return-Path and Delivered-To, CRLF stored as LF" {
	run bash -c "printf 'Subject: hi\r\n\r\nline\r\n' | mail-deliver -f carol@elsewhere.test alice@example.test"
	assert_success
	f=$(inbox alice)
	run cat "$f"
	assert_line --index 0 "Return-Path: <carol@elsewhere.test>"
	assert_line --index 1 "Delivered-To: alice@example.test"
	assert_line --index 2 "Subject: hi"
	[ "$(tail -c 5 "$f" | od -An -c | tr -d ' ')" = 'line\n' ]
	[[ "$(basename "$f")" =~ ^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\..*,S=[0-9]+$ ]]
}

@test "case-insensitive lookup; alias, nested alias, group fan out" {
	sample_message one | mail-deliver ALICE@EXAMPLE.TEST
	sample_message two | mail-deliver chain@example.test
	sample_message three | mail-deliver team@example.test
	[ "$(inbox alice | wc -l)" -eq 3 ]
	[ "$(inbox bob | wc -l)" -eq 2 ]
}

@test "catch-all and subaddress into an existing folder" {
	mail-admin alias add @example.test bob@example.test
	sample_message c | mail-deliver whoever@example.test
	[ "$(inbox bob | wc -l)" -eq 1 ]
	sample_message s | mail-deliver alice+Archive@example.test
	[ "$(count_files "$MAIL/alice/.Archive/new")" -eq 1 ]
	# A tag naming no folder: INBOX.
	sample_message t | mail-deliver alice+nosuchfolder@example.test
	[ "$(inbox alice | wc -l)" -eq 1 ]
	# "..": not a dot-atom, a bad address (65); quoted, a tag that is no
	# valid folder name, so INBOX, and nothing outside the mailbox.
	run bash -c "sample_message u | mail-deliver 'alice+..@example.test'"
	assert_failure 65
	assert_output --partial "5.1.3"
	sample_message v | mail-deliver '"alice+.."@example.test'
	[ "$(inbox alice | wc -l)" -eq 2 ]
	[ ! -e "$MAIL/alice/..new" ]
	[ ! -e "$MAIL/new" ]
}

@test "unknown user and domain: 67; bad address: 65; --status lines" {
	run bash -c "sample_message x | mail-deliver nobody@example.test"
	assert_failure 67
	assert_output --partial "5.1.1"
	run bash -c "sample_message x | mail-deliver someone@elsewhere.test"
	assert_failure 67
	run bash -c "sample_message x | mail-deliver 'bad address'"
	assert_failure 65
	run bash -c "sample_message x | mail-deliver --status alice@example.test nobody@example.test 2>/dev/null"
	assert_failure 67
	assert_line --index 0 "$(printf 'alice@example.test\t2.0.0 delivered')"
	assert_line --index 1 --partial "$(printf 'nobody@example.test\t5.1.1')"
	run mail-deliver
	assert_failure 64
}

@test "mail loops: our own Delivered-To, too many hops, alias cycles" {
	run bash -c "printf 'Delivered-To: alice@example.test\nSubject: x\n\nb\n' | mail-deliver alice@example.test"
	assert_failure 65
	assert_output --partial "5.4.6"
	run bash -c "printf 'Delivered-To: bob@example.test\nSubject: x\n\nb\n' | mail-deliver --status sales@example.test"
	assert_output --partial "mail loop"
	run bash -c "(for i in \$(seq 51); do echo 'Received: from x by y'; done; printf 'Subject: x\n\nb\n') | mail-deliver alice@example.test"
	assert_failure 65
	assert_output --partial "too many hops"
	mail-admin alias add a1@example.test a2@example.test
	mail-admin alias add a2@example.test a1@example.test
	run bash -c "sample_message x | mail-deliver a1@example.test"
	assert_failure 65
	assert_output --partial "loop"
	[ -z "$(inbox bob)" ]
}

@test "quota: over quota is 4.2.2 and temporary" {
	mail-admin mailbox quota bob@example.test 1K
	head -c 600 /dev/zero | tr '\0' x | sed 's/^/Subject: a\n\n/' | mail-deliver bob@example.test
	run bash -c "head -c 600 /dev/zero | tr '\0' x | sed 's/^/Subject: b\n\n/' | mail-deliver --status bob@example.test"
	assert_failure 75
	assert_output --partial "4.2.2"
	[ "$(inbox bob | wc -l)" -eq 1 ]
}

@test "maximum message size" {
	printf '[delivery]\nmax_message_size = "1K"\n' > "$FACTEUR_CONFIG"
	run bash -c "head -c 5000 /dev/zero | tr '\0' y | sed 's/^/Subject: big\n\n/' | mail-deliver alice@example.test"
	assert_failure 65
	assert_output --partial "5.3.4"
	[ -z "$(inbox alice)" ]
}

@test "bytes are kept verbatim: NUL, 8-bit, long lines, bare LF and CR" {
	python3 - "$BATS_TEST_TMPDIR/msg" <<'PY'
import sys
body = b"Subject: \xe9t\xe9\n\nnul:\x00:end\nlong:" + b"z" * 20000 + b"\nbare\rcr\n\xff\xfe\n"
open(sys.argv[1], "wb").write(body)
PY
	mail-deliver alice@example.test < "$BATS_TEST_TMPDIR/msg"
	f=$(inbox alice)
	tail -n +3 "$f" | cmp - "$BATS_TEST_TMPDIR/msg"
}

@test "external alias targets are forwarded through the queue (sender kept); a forwarding loop is stopped" {
	mail-admin alias add fwd@example.test alice@example.test out@elsewhere.test
	run bash -c "sample_message x | mail-deliver -f carol@elsewhere.test --status fwd@example.test"
	assert_success
	assert_output --partial "forwarded to out@elsewhere.test"
	[ -n "$(inbox alice)" ]
	q=$(find "$FACTEUR_STATE_DIR/queue/mess" -type f)
	[ "$(echo "$q" | wc -l)" -eq 1 ]
	grep -q "^from	carol@elsewhere.test$" "$q"
	grep -q "^rcpt	out@elsewhere.test" "$q"
	grep -q "^client forwarded-for=fwd@example.test$" "$q"
	grep -q "^Delivered-To: fwd@example.test$" "$q"
	grep -q "^Subject: x$" "$q"
	# the forwarded copy coming back is a loop
	sed '1,/^$/d' "$q" > "$BATS_TEST_TMPDIR/back"
	run bash -c "mail-deliver --status fwd@example.test < '$BATS_TEST_TMPDIR/back'"
	assert_failure
	assert_output --partial "5.4.6"
}

@test "every write or sync error is a temporary failure and leaves nothing in new/" {
	for op in write fsync rename dirsync; do
		run bash -c "sample_message $op | FACTEUR_FAULT=$op mail-deliver alice@example.test"
		assert_failure 75
		[ -z "$(inbox alice)" ]
		[ "$(count_files "$MAIL/alice/tmp")" -eq 0 ]
	done
	run bash -c "sample_message x | FACTEUR_STATE_DIR=/nonexistent mail-deliver alice@example.test"
	assert_failure 75
}

@test "mblaze reads the delivered mail and its flags; the index follows" {
	sample_message first | mail-deliver alice@example.test
	sample_message second | mail-deliver alice@example.test
	run mlist "$MAIL/alice"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run bash -c "mlist '$MAIL/alice' | xargs -n1 mhdr -h Subject"
	assert_output --partial "first"
	assert_output --partial "second"
	minc "$MAIL/alice" >/dev/null # mblaze moves new/ to cur/ before flagging
	mflag -S -F "$(mlist "$MAIL/alice" | head -1)" >/dev/null
	run bash -c "mlist -S '$MAIL/alice' | wc -l"
	assert_output 1
	run mail-admin check
	assert_failure 65
	assert_output --partial "2 changed"
	mail-admin check --repair >/dev/null
	run python3 -c "
import sqlite3
db = sqlite3.connect('$MAIL/alice/index.sqlite')
print(sorted(r[0] for r in db.execute('select flags from messages')))"
	assert_output "['', 'FS']"
	run bash -c "mail-admin check; mail-admin mailbox show alice@example.test --json"
	assert_success
	assert_output --partial '"messages":2'
}

@test "8 first deliveries at once into a new mailbox (its index made while all open it): none fails, 20 times over" {
	for round in $(seq 20); do
		mail-admin mailbox add "new$round@example.test" --no-password
		for w in $(seq 8); do
			(printf 'Subject: %s\n\nx\n' "$w" | mail-deliver "new$round@example.test" 2>>"$BATS_TEST_TMPDIR/err" ||
				echo "round $round: fail $?") >> "$BATS_TEST_TMPDIR/fails" &
		done
		wait
	done
	grep -hv 'deliver.ok' "$BATS_TEST_TMPDIR/err" || true
	[ ! -s "$BATS_TEST_TMPDIR/fails" ]
	[ "$(find "$MAIL"/new*/new -type f | wc -l)" -eq 160 ]
}

@test "8 concurrent writers, 2,000 messages: all present, UIDs unique and increasing" {
	for w in $(seq 8); do
		(for i in $(seq 250); do
			printf 'Subject: w%s-%s\n\nx\n' "$w" "$i" |
				mail-deliver alice@example.test 2>>"$BATS_TEST_TMPDIR/w$w.err" || echo "fail $?"
		done) > "$BATS_TEST_TMPDIR/w$w" &
	done
	wait
	# Shown only if the test fails: what went wrong, from mail-deliver's log.
	cat "$BATS_TEST_TMPDIR"/w? | sort | uniq -c
	grep -hv 'deliver.ok' "$BATS_TEST_TMPDIR"/w*.err || true
	[ -z "$(cat "$BATS_TEST_TMPDIR"/w?)" ] # no "fail" line ('! cmd' would not fail a bats test)
	[ "$(count_files "$MAIL/alice/new")" -eq 2000 ]
	run python3 -c "
import sqlite3
db = sqlite3.connect('$MAIL/alice/index.sqlite')
uids = [r[0] for r in db.execute('select uid from messages order by rowid')]
missing = sorted(set(range(1, 2001)) - set(uids))
assert sorted(uids) == list(range(1, 2001)), (len(uids), missing[:10])
print(db.execute('select uidnext from folders where name=\"INBOX\"').fetchone()[0])"
	assert_output 2001
	run mail-admin check
	assert_success
}

@test "with mail-queue run, mail-deliver hands the message to its delivery service: the same results; without one it delivers itself" {
	daemon mail-queue run
	for _ in $(seq 50); do [ -S "$FACTEUR_STATE_DIR/deliver.sock" ] && break; sleep 0.1; done
	[ -S "$FACTEUR_STATE_DIR/deliver.sock" ]
	# a pipe (copied into a memory file), --status, a refusal among the recipients
	run bash -c "sample_message one | mail-deliver --status -f carol@elsewhere.test alice@example.test nobody@example.test team@example.test"
	[ "$status" -eq 67 ]
	assert_line $'alice@example.test\t2.0.0 delivered'
	assert_line --partial $'nobody@example.test\t5.1.1 '
	assert_line $'team@example.test\t2.0.0 delivered'
	# a file on standard input; errors on standard error
	sample_message two > "$BATS_TEST_TMPDIR/m"
	mail-deliver bob@example.test < "$BATS_TEST_TMPDIR/m"
	run mail-deliver nobody@example.test < "$BATS_TEST_TMPDIR/m"
	[ "$status" -eq 67 ]
	assert_output --partial "mail-deliver: nobody@example.test: 5.1.1"
	[ "$(inbox alice | wc -l)" -eq 1 ] && [ "$(inbox bob | wc -l)" -eq 2 ]
	run grep -c "mail-queue\[[0-9]*\]: deliver.ok" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 3
	run grep -c "mail-deliver-local" "$BATS_TEST_TMPDIR/daemon.log"
	assert_output 0
	f=$(grep -l "Subject: two" $(inbox bob) | head -n 1)
	[ "$(sed -n 3,99p "$f")" = "$(cat "$BATS_TEST_TMPDIR/m")" ]
	# the service stopped: its socket gone, mail-deliver delivers itself
	stop_daemons
	for _ in $(seq 50); do [ -S "$FACTEUR_STATE_DIR/deliver.sock" ] || break; sleep 0.1; done
	sample_message three | mail-deliver alice@example.test 2> "$BATS_TEST_TMPDIR/own.log"
	grep -q "mail-deliver-local" "$BATS_TEST_TMPDIR/own.log"
	# a socket nobody listens on (a runner killed with -9): the same
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' "$FACTEUR_STATE_DIR/deliver.sock"
	sample_message four | mail-deliver alice@example.test
	[ "$(inbox alice | wc -l)" -eq 3 ]
}
