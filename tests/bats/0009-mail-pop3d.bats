#!/usr/bin/env bats
# mail-pop3d: scripted dialogues (tests/dialogues/pop3), the UPDATE state,
# UIDL stability, the maildrop lock, real clients (poplib, curl).

load helper

setup() {
	setup_smtp
	for s in one two three; do sample_message $s | mail-deliver alice@example.test; done
	# a message with dots at line starts and no final newline
	printf 'Subject: dots\n\n.leading dot\n..two\nlast line' | mail-deliver bob@example.test
}
teardown() { stop_daemons; }

dialogue() { python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-pop3d" "$@"; }
DIALOGUES="$BATS_TEST_DIRNAME/../dialogues/pop3"
CLIENTS="$BATS_TEST_DIRNAME/../clients"
files() { find "$MAIL/$1/new" "$MAIL/$1/cur" -type f | wc -l; }

@test "every scripted POP3 dialogue passes" {
	run dialogue "$DIALOGUES"/*.txt
	echo "$output"
	assert_success
	refute_output --partial FAIL
}

@test "DELE takes effect only at QUIT; a dropped connection deletes nothing" {
	dialogue "$DIALOGUES/010-no-quit.txt"
	[ "$(files alice)" -eq 3 ]
	dialogue "$DIALOGUES/090-transaction.txt"
	[ "$(files alice)" -eq 2 ]
	! grep -l "Subject: three" "$MAIL"/alice/new/* "$MAIL"/alice/cur/* 2>/dev/null
	# the index dropped it too (what IMAP sessions will see)
	run mail-admin check
	assert_success
}

@test "UIDL is the Maildir base name, stable across sessions and an index rebuild" {
	P=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port $P
	run python3 "$CLIENTS/poplib_fetch.py" $P alice@example.test pw-alice
	assert_success
	first=$output
	for f in "$MAIL"/alice/new/*; do echo "$first" | grep -q "^$(basename "$f") "; done
	rm "$MAIL/alice/index.sqlite"*
	# a reader moves them to cur/ and marks one seen, as mutt or mblaze do;
	# one is moved bare, without ":2,", as a careless script would
	for f in $(ls "$MAIL"/alice/new); do mv "$MAIL/alice/new/$f" "$MAIL/alice/cur/$f:2,"; done
	f=$(ls "$MAIL"/alice/cur | head -n 1)
	mv "$MAIL/alice/cur/$f" "$MAIL/alice/cur/${f}S"
	f=$(ls "$MAIL"/alice/cur | tail -n 1)
	mv "$MAIL/alice/cur/$f" "$MAIL/alice/cur/${f%:2,}"
	run python3 "$CLIENTS/poplib_fetch.py" $P alice@example.test pw-alice
	assert_success
	[ "$(echo "$output" | sort)" = "$(echo "$first" | sort)" ]
}

@test "poplib: STLS, sizes equal RETR octets, dot-stuffing, TOP; delete at QUIT" {
	P=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port $P
	run python3 "$CLIENTS/poplib_fetch.py" $P bob@example.test pw-bob
	assert_failure # bob has no password
	echo pw-bob | mail-admin mailbox passwd bob@example.test --password-stdin
	run python3 "$CLIENTS/poplib_fetch.py" $P bob@example.test pw-bob --delete
	assert_success
	assert_output --partial "Subject: dots"
	[ "$(files bob)" -eq 0 ]
}

@test "a second POP3 session on the same mailbox gets [IN-USE]" {
	P=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port $P
	run python3 - $P <<-'EOF2'
	import poplib, sys
	port = int(sys.argv[1])
	a = poplib.POP3("127.0.0.1", port); a.user("alice@example.test"); a.pass_("pw-alice")
	b = poplib.POP3("127.0.0.1", port); b.user("alice@example.test")
	try:
	    b.pass_("pw-alice")
	except poplib.error_proto as e:
	    print(e)
	a.quit()
	c = poplib.POP3("127.0.0.1", port); c.user("alice@example.test"); print(c.pass_("pw-alice")); c.quit()
	EOF2
	assert_success
	assert_line --partial "-ERR [IN-USE]"
	assert_line --partial "+OK 3 messages"
}

@test "curl: pop3:// list and retrieve over STLS" {
	P=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port $P
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "pop3://127.0.0.1:$P/"
	assert_success
	assert_line --regexp "^1 [0-9]+"
	assert_line --regexp "^3 [0-9]+"
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "pop3://127.0.0.1:$P/2"
	assert_success
	assert_output --partial "Subject: two"
}

@test "implicit TLS (995 style)" {
	P=$(free_port)
	daemon mail-pop3d --tls implicit --listen 127.0.0.1:$P
	wait_port $P
	run curl -sS -k --user alice@example.test:pw-alice "pop3s://127.0.0.1:$P/1"
	assert_success
	assert_output --partial "Subject: one"
}
