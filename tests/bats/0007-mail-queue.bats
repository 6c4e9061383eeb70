#!/usr/bin/env bats
# mail-queue: delivery of local recipients, remote ones waiting, retries,
# bounces (RFC 3464), list/show/flush/delete, the inotify wake-up.

load helper

# These tests are about the queue: mail-smtpd queues every message here
# instead of delivering local mail itself (0005-mail-smtpd.bats tests that).
setup() {
	setup_smtp
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG"
}
teardown() { stop_daemons; }

# submit FROM RCPT... with the message on stdin, through an MX session
submit() {
	local from=$1
	shift
	{
		printf '< 220\n> EHLO c\n< 250\n> MAIL FROM:<%s>%s\n< 250\n' "$from" "${MAILPARAMS:-}"
		for r in "$@"; do printf '> RCPT TO:<%s>%s\n< 250\n' "$r" "${RCPTPARAMS:-}"; done
		printf '> DATA\n< 354\n>raw '
		sed 's/$/\\r\\n/' | tr -d '\n'
		printf '.\\r\\n\n< 250 2.0.0\n'
	} > "$BATS_TEST_TMPDIR/submit.txt"
	python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" "$BATS_TEST_TMPDIR/submit.txt"
}

queue_id() { basename "$(queued_files | head -n 1)"; }

@test "run --once delivers local recipients and empties the queue" {
	sample_message one | submit carol@elsewhere.test alice@example.test team@example.test
	[ "$(queued_files | wc -l)" -eq 1 ]
	run mail-queue run --once
	assert_success
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$MAIL/alice/new")" -eq 1 ]
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
	run cat "$MAIL"/alice/new/*
	assert_line --index 0 "Return-Path: <carol@elsewhere.test>"
	assert_line --index 1 "Delivered-To: alice@example.test"
	assert_line --regexp "^Received: from c "
	assert_line "Subject: one"
}

@test "a quoted local part with a space goes through the queue" {
	sample_message spaced | submit '"john doe"@elsewhere.test' bob@example.test
	run mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	run cat "$MAIL"/bob/new/*
	assert_line --index 0 'Return-Path: <"john doe"@elsewhere.test>'
}

@test "run notices a new message at once (inotify)" {
	daemon mail-queue run
	sleep 0.3
	sample_message fast | submit carol@elsewhere.test bob@example.test
	for _ in $(seq 20); do [ "$(count_files "$MAIL/bob/new")" -eq 1 ] && break; sleep 0.1; done
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
	[ "$(queued_files | wc -l)" -eq 0 ]
}

@test "a remote recipient stays queued and visible in list --json; show; delete" {
	cat > "$BATS_TEST_TMPDIR/s.txt" <<-'EOF2'
	@args --role submission
	< 220
	> EHLO c
	< 250
	> AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwdy1hbGljZQ==
	< 235
	> MAIL FROM:<alice@example.test>
	< 250
	> RCPT TO:<dave@elsewhere.test>
	< 250
	> RCPT TO:<bob@example.test>
	< 250
	> DATA
	< 354
	>raw From: alice@example.test\r\nSubject: out\r\n\r\nx\r\n.\r\n
	< 250
	EOF2
	python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" "$BATS_TEST_TMPDIR/s.txt"
	id=$(queue_id)
	run mail-queue run --once
	assert_success
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
	run mail-queue list --json
	assert_success
	python3 -c '
import json, sys
q = json.loads(sys.argv[1])
assert len(q) == 1, q
r = {x["address"]: x for x in q[0]["recipients"]}
assert r["bob@example.test"]["status"] == "delivered", r
d = r["dave@elsewhere.test"]
assert d["status"] == "pending" and "DNS lookup for elsewhere.test failed" in d["last_result"], d
assert d["attempts"] == 1 and d["dsn"] == "4.4.3" and d["next_attempt"] > 0, d
' "$output"
	run mail-queue show "$id"
	assert_success
	assert_output --partial "subject: out"
	assert_output --partial "<dave@elsewhere.test> pending"
	run mail-queue delete "$id"
	assert_success
	[ "$(queued_files | wc -l)" -eq 0 ]
	run mail-queue show "$id"
	assert_failure 67
	run mail-queue delete ../etc
	assert_failure 64
}

@test "postmaster: bare <postmaster> and postmaster@ every local domain reach an existing postmaster" {
	mail-admin domain add other.test
	# nothing routes postmaster yet: refused, and said why in the log
	run python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" /dev/stdin <<-'EOF2'
	< 220
	> EHLO c
	< 250
	> MAIL FROM:<carol@elsewhere.test>
	< 250
	> RCPT TO:<postmaster>
	< 550 5.1.1
	> RCPT TO:<postmaster@other.test>
	< 550 5.1.1
	EOF2
	assert_success
	# one postmaster@ in one domain: it takes every domain's and the bare name
	mail-admin alias add postmaster@example.test bob@example.test
	sample_message to-bare | submit carol@elsewhere.test postmaster
	sample_message to-other | submit carol@elsewhere.test POSTMASTER@other.test
	# a failed message from the null sender: the double bounce finds it too
	mail-admin mailbox add gone@other.test --no-password
	sample_message doomed | submit "" gone@other.test
	mail-admin mailbox remove gone@other.test
	run mail-queue run --once
	assert_success
	mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$MAIL/bob/new")" -eq 3 ]
	grep -q "^Subject: Undelivered Mail Returned to Sender" "$MAIL"/bob/new/*
	grep -q "^Subject: to-bare" "$MAIL"/bob/new/*
	grep -q "^Subject: to-other" "$MAIL"/bob/new/*
	# queue.postmaster, when set, wins over the postmaster@ aliases
	printf 'queue.postmaster = "alice@example.test"\n' >> "$FACTEUR_CONFIG"
	sample_message configured | submit carol@elsewhere.test postmaster@other.test
	sample_message own-alias | submit carol@elsewhere.test postmaster@example.test
	mail-queue run --once
	grep -q "^Subject: configured" "$MAIL"/alice/new/*
	grep -q "^Subject: own-alias" "$MAIL"/bob/new/*
	# a queue.postmaster outside our domains: mail to the bare name is forwarded there
	sed -i 's/^queue.postmaster = .*/queue.postmaster = "admin@elsewhere.test"/' "$FACTEUR_CONFIG"
	sample_message outside | submit carol@elsewhere.test postmaster
	mail-queue run --once
	run mail-queue list --json
	assert_output --partial '"address":"admin@elsewhere.test"'
}

@test "a permanent failure bounces to the sender as a DSN; for the null sender, to the postmaster" {
	printf 'queue.postmaster = "postmaster@example.test"\n' >> "$FACTEUR_CONFIG"
	mail-admin alias add postmaster@example.test alice@example.test
	sample_message doomed | MAILPARAMS=" ENVID=env+2B1" RCPTPARAMS=" ORCPT=rfc822;bob@example.test" \
		submit alice@example.test bob@example.test
	sample_message doomed-too | submit "" bob@example.test
	mail-admin mailbox remove bob@example.test
	run mail-queue run --once
	assert_success
	# the bounce and the double bounce were queued and, once run, delivered to alice
	mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$MAIL/alice/new")" -eq 2 ]
	double=$(grep -l "^To: <postmaster@example.test>" "$MAIL"/alice/new/*)
	grep -q "^Subject: Undelivered Mail Returned to Sender" "$double"
	grep -q "^Subject: doomed-too" "$double"
	f=$(grep -L "^To: <postmaster@example.test>" "$MAIL"/alice/new/*)
	run cat "$f"
	assert_line "Return-Path: <>"
	assert_line "Subject: Undelivered Mail Returned to Sender"
	assert_line "Auto-Submitted: auto-replied"
	assert_line --partial "Content-Type: multipart/report; report-type=delivery-status;"
	assert_line "Content-Type: message/delivery-status"
	assert_line "Original-Envelope-Id: env+1"
	assert_line "Final-Recipient: rfc822; bob@example.test"
	assert_line "Original-Recipient: rfc822; bob@example.test"
	assert_line "Action: failed"
	assert_line "Status: 5.1.1"
	assert_line "Content-Type: message/rfc822"
	assert_line "Subject: doomed"
	refute_line "Subject: doomed-too"
	# mblaze sees three parts
	run mshow -t "$f"
	assert_output --partial "message/delivery-status"
}

@test "RET=HDRS returns only the header; NOTIFY=NEVER sends nothing" {
	printf 'Subject: hdrs\n\nsecret body\n' | MAILPARAMS=" RET=HDRS" submit alice@example.test bob@example.test
	printf 'Subject: never\n\nx\n' | RCPTPARAMS=" NOTIFY=NEVER" submit alice@example.test bob@example.test
	mail-admin mailbox remove bob@example.test
	mail-queue run --once
	mail-queue run --once
	[ "$(count_files "$MAIL/alice/new")" -eq 1 ]
	run cat "$MAIL"/alice/new/*
	assert_line "Content-Type: text/rfc822-headers"
	assert_line "Subject: hdrs"
	refute_line "secret body"
}

@test "a temporary failure (over quota) is retried on a schedule; flush retries now" {
	mail-admin mailbox quota bob@example.test 10
	sample_message full | submit carol@elsewhere.test bob@example.test
	run mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 1 ]
	run mail-queue list --json
	python3 -c '
import json, sys, time
r = json.loads(sys.argv[1])[0]["recipients"][0]
assert r["status"] == "pending" and r["attempts"] == 1 and r["dsn"] == "4.2.2", r
assert r["next_attempt"] >= time.time() + 200, r
' "$output"
	mail-admin mailbox quota bob@example.test 1M
	mail-queue flush
	run mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
}

@test "expired: a temporary failure older than queue.max_age bounces" {
	printf 'queue.max_age = "1s"\n' >> "$FACTEUR_CONFIG"
	mail-admin mailbox quota bob@example.test 10
	sample_message late | submit alice@example.test bob@example.test
	# two seconds later, by the clock hook instead of a sleep
	FACTEUR_NOW=+2 mail-queue run --once
	FACTEUR_NOW=+2 mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	run cat "$MAIL"/alice/new/*
	assert_line --partial "delivery time expired"
	assert_line "Status: 5.4.7"
}

@test "one runner at a time" {
	daemon mail-queue run
	sleep 0.3
	run mail-queue run --once
	assert_failure 75
	assert_output --partial "another mail-queue run is active"
}
