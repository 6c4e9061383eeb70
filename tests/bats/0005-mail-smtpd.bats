#!/usr/bin/env bats
# mail-smtpd: scripted dialogues (tests/dialogues/smtp), what lands in the
# queue, real clients (smtplib, swaks, curl), socket modes, faults.

load helper

setup() { setup_smtp; }
teardown() { stop_daemons; }

dialogue() { python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" "$@"; }
DIALOGUES="$BATS_TEST_DIRNAME/../dialogues/smtp"

@test "every scripted SMTP dialogue passes" {
	run dialogue "$DIALOGUES"/*.txt
	echo "$output"
	assert_success
	refute_output --partial FAIL
}

@test "delivered at once: Received, bytes unstuffed, LF line ends, every mailbox, nothing queued" {
	dialogue "$DIALOGUES/002-mx-accept.txt"
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$QUEUE/tmp")" -eq 0 ]
	# alice, alice+news, sales (alice, bob) and team (alice, bob): one copy each
	[ "$(count_files "$MAIL/alice/new")" -eq 1 ]
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
	f=$(find "$MAIL/alice/new" -type f)
	run cat "$f"
	assert_line --regexp "^Received: from client.example \(\[local\]\)$"
	assert_line --regexp "^	by .* \(facteur\) with ESMTP id "
	assert_line ".leading dot"
	! grep -q $'\r' "$f"
	[ "$(tail -n 1 "$f")" = ".leading dot" ]
	run sqlite3 "$MAIL/alice/index.sqlite" "SELECT count(*) FROM messages"
	assert_output 1
}

@test "delivered at once where it can be: a full mailbox and a remote address queued, a refusal for all answered, a big message queued" {
	mail-admin mailbox quota bob@example.test 1K
	# Messages over 1 MiB are not held in memory to be checked: they go to the queue as they come.
	printf 'checks.max_verified_size = 1048576\n' >> "$FACTEUR_CONFIG"
	P=$(free_port) S=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$P
	daemon mail-smtpd --role submission --listen 127.0.0.1:$S
	wait_port $P && wait_port $S
	run python3 - $P $S <<-'EOF2'
	import smtplib, sys
	mx, sub = int(sys.argv[1]), int(sys.argv[2])
	big = "Subject: big\r\n\r\n" + ("x" * 1000 + "\r\n") * 1100
	with smtplib.SMTP("127.0.0.1", mx) as s:
	    # alice takes it now; bob (over quota, 4.2.2) waits in the queue
	    print(s.sendmail("a@elsewhere.test", ["alice@example.test", "bob@example.test"], "Subject: two\r\n\r\n" + ("y" * 100 + "\r\n") * 20))
	    # refused for every recipient: the reply says so, nothing is bounced
	    try:
	        s.sendmail("a@elsewhere.test", ["alice@example.test"], "Received: x\r\n" * 60 + "Subject: loop\r\n\r\nz\r\n")
	    except smtplib.SMTPDataError as e:
	        print("refused", e.smtp_code, e.smtp_error.decode())
	    print(s.sendmail("a@elsewhere.test", ["alice@example.test"], big))
	with smtplib.SMTP("127.0.0.1", sub) as s:
	    s.login("alice@example.test", "pw-alice")
	    s.sendmail("alice@example.test", ["bob@example.test", "carol@elsewhere.test"], "From: alice@example.test\r\nSubject: out\r\n\r\nw\r\n")
	EOF2
	echo "$output"
	assert_success
	assert_output --partial "refused 554 5.4.6"
	[ "$(count_files "$MAIL/alice/new")" -eq 1 ]
	# the index follows once the connection process is idle (0.1 s)
	sleep 0.5
	run sqlite3 "$MAIL/alice/index.sqlite" "SELECT count(*) FROM messages"
	assert_output 1
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ] # "out", small enough for his quota
	# queued: bob's copy of "two", the big message, carol's copy of "out"
	[ "$(queued_files | wc -l)" -eq 3 ]
	run cat $(queued_files)
	assert_line $'rcpt\tbob@example.test'
	assert_line $'rcpt\tcarol@elsewhere.test'
	assert_line "Subject: big"
	[ "$(cat $(queued_files) | grep -c '^rcpt')" -eq 3 ]
	refute_output --partial "Subject: loop"
}

@test "queued message (smtpd.deliver_local off): envelope, Received, bytes unstuffed, LF line ends" {
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG"
	dialogue "$DIALOGUES/002-mx-accept.txt"
	f=$(queued_files)
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	run cat "$f"
	assert_line --index 0 "facteur-queue 1"
	assert_line $'from\tcarol@elsewhere.test'
	assert_line $'rcpt\talice+news@example.test'
	assert_line $'rcpt\tteam@example.test'
	assert_line --regexp "^Received: from client.example \(\[local\]\)$"
	assert_line --regexp "^	by .* \(facteur\) with ESMTP id "
	assert_line ".leading dot"
	! grep -q $'\r' "$f"
	[ "$(tail -n 1 "$f")" = ".leading dot" ]
}

@test "BDAT: chunks joined, CRLF stored as LF" {
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG"
	dialogue "$DIALOGUES/021-bdat.txt"
	f=$(queued_files | head -n 1)
	run cat "$f"
	assert_line "Subject: chunked"
	assert_line "abcdef"
	! grep -q $'\r' "$f"
}

@test "smuggling: normalised bare line ends stay in one message" {
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG"
	dialogue "$DIALOGUES/012-smuggling-normalized.txt"
	[ "$(queued_files | wc -l)" -eq 1 ]
	run cat "$(queued_files)"
	assert_line "MAIL FROM:<evil@elsewhere.test>"
	assert_line "smuggled"
	refute_line $'rcpt\tbob@example.test'
}

@test "refused messages leave nothing in the queue" {
	dialogue "$DIALOGUES/011-smuggling.txt" "$DIALOGUES/009-size.txt" "$DIALOGUES/024-header-too-big.txt"
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$QUEUE/tmp")" -eq 0 ]
}

@test "submission: Date and Message-ID added, client IP not in Received" {
	dialogue "$DIALOGUES/017-submission-auth.txt"
	run cat "$(queued_files)"
	assert_line $'from\talice+sent@example.test'
	assert_line --regexp "^Received: by .* with ESMTPA id "
	assert_line "	(authenticated sender)"
	assert_line --regexp "^Date: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] "
	assert_line --regexp "^Message-ID: <.*@.*>$"
	refute_output --partial "[local]"
}

@test "DSN parameters are stored with the envelope" {
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG"
	cat > "$BATS_TEST_TMPDIR/d.txt" <<-'EOF2'
	< 220
	> EHLO c
	< 250
	> MAIL FROM:<a@elsewhere.test> RET=HDRS ENVID=abc+2Bdef
	< 250
	> RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test
	< 250
	> DATA
	< 354
	>raw Subject: dsn\r\n\r\nx\r\n.\r\n
	< 250
	EOF2
	dialogue "$BATS_TEST_TMPDIR/d.txt"
	run cat "$(queued_files)"
	assert_line "dsn ret=HDRS envid=abc+2Bdef"
	assert_line $'rcpt\talice@example.test\tnotify=SUCCESS,FAILURE\torcpt=rfc822;alice@example.test'
}

@test "disk full or I/O error: 4xx, nothing acknowledged, nothing partial" {
	for fault in write fsync rename dirsync; do
		FACTEUR_FAULT=$fault run dialogue "$DIALOGUES/002-mx-accept.txt"
		assert_failure
		assert_output --partial "451 4.3.0"
		[ "$(queued_files | wc -l)" -eq 0 ]
		[ "$(count_files "$QUEUE/tmp")" -eq 0 ]
		[ "$(cat <(find "$MAIL"/*/new "$MAIL"/*/tmp -type f) | wc -l)" -eq 0 ]
	done
	FACTEUR_FAULT=write FACTEUR_FAULT_ERRNO=ENOSPC run dialogue "$DIALOGUES/002-mx-accept.txt"
	assert_output --partial "452 4.3.1"
	[ "$(queued_files | wc -l)" -eq 0 ]
}

@test "failed logins are delayed, more for each failure, shared across processes" {
	cat > "$BATS_TEST_TMPDIR/bad.txt" <<-'EOF2'
	@args --role submission
	< 220
	> EHLO c
	< 250
	> AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==
	< 535 5.7.8
	EOF2
	start=$(date +%s.%N)
	dialogue "$BATS_TEST_TMPDIR/bad.txt"
	one=$(echo "$(date +%s.%N) - $start" | bc)
	start=$(date +%s.%N)
	dialogue "$BATS_TEST_TMPDIR/bad.txt"
	two=$(echo "$(date +%s.%N) - $start" | bc)
	echo "first $one s, second $two s"
	[ "$(echo "$one >= 1" | bc)" -eq 1 ]
	[ "$(echo "$two >= 2" | bc)" -eq 1 ]
	# an unknown user pays the same price
	sed -i 's/^> AUTH PLAIN .*/> AUTH PLAIN AG5vYm9keUBleGFtcGxlLnRlc3QAeA==/' "$BATS_TEST_TMPDIR/bad.txt"
	start=$(date +%s.%N)
	dialogue "$BATS_TEST_TMPDIR/bad.txt"
	three=$(echo "$(date +%s.%N) - $start" | bc)
	[ "$(echo "$three >= 4" | bc)" -eq 1 ]
}

@test "a directory that cannot answer during AUTH: 454 4.7.0, and no failed login counted" {
	run dialogue "$DIALOGUES/028-auth-directory-unavailable.txt"
	assert_success
	# No row in the failed-login table: the next real attempt gets no delay.
	run python3 -c 'import os, sqlite3, sys
p = sys.argv[1] + "/auth/auth.sqlite"
print(sqlite3.connect(p).execute("SELECT count(*) FROM failures").fetchone()[0] if os.path.exists(p) else 0)' "$FACTEUR_STATE_DIR"
	assert_output 0
	# The same dialogue with the real answer is a failed login, counted.
	sed -e 's/^@env.*//' -e 's/^< 454 4.7.0/< 535 5.7.8/' -e 's/pw-alice/d3Jvbmc=/' \
		"$DIALOGUES/028-auth-directory-unavailable.txt" > "$BATS_TEST_TMPDIR/wrong.txt"
	sed -i 's/AUTH PLAIN .*/AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==/' "$BATS_TEST_TMPDIR/wrong.txt"
	run dialogue "$BATS_TEST_TMPDIR/wrong.txt"
	assert_success
	run python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1] + "/auth/auth.sqlite").execute("SELECT count(*) FROM failures").fetchone()[0])' "$FACTEUR_STATE_DIR"
	refute_output 0
}

@test "a NUL or other control byte from the client is never echoed back in a reply" {
	run python3 - "$BUILD/tools/mail-smtpd" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1]], stdin=b, stdout=b)
b.close()
greeting = a.recv(1000)
a.sendall(b"EHLO c\r\nMAIL FROM:<a\x00b@elsewhere.test>\r\nRCPT TO:<x\x01\x00@example.test>\r\nNO\x00OP\r\nQUIT\r\n")
data = greeting
while True:
    d = a.recv(65536)
    if not d:
        break
    data += d
p.wait()
print(data)
assert b"221" in data, data
assert not any(c < 0x20 and c not in (13, 10) for c in data), data
PY
	echo "$output"
	assert_success
}
