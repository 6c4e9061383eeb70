#!/usr/bin/env bats
# Real POP3 clients against mail-pop3d: fetchmail (STLS, UIDL, keep, then
# delete) and getmail6 (implicit TLS, keep, then delete), each run twice:
# the second run finds nothing new.

load helper

setup() {
	setup_smtp
	for s in one two three; do sample_message $s | mail-deliver alice@example.test; done
	OUT="$BATS_TEST_TMPDIR/out"
	mkdir -p "$OUT/tmp" "$OUT/new" "$OUT/cur"
}
teardown() {
	stop_daemons
	[ -f "$BATS_TEST_TMPDIR/cleanup" ] && rm -rf "$(cat "$BATS_TEST_TMPDIR/cleanup")"
	true
}

fetched() { find "$OUT/new" "$OUT/cur" "$OUT" -maxdepth 1 -type f -name '*' | grep -c . || true; }
inbox() { find "$MAIL/alice/new" "$MAIL/alice/cur" -type f | wc -l; }

@test "fetchmail: STLS, keep with UIDL (second run fetches nothing), then delete" {
	P=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port $P
	printf '#!/bin/sh\nf=$(mktemp -p "%s" msg.XXXXXX) && cat > "$f"\n' "$OUT" > "$BATS_TEST_TMPDIR/store"
	chmod +x "$BATS_TEST_TMPDIR/store"
	rc="$BATS_TEST_TMPDIR/fetchmailrc"
	write_rc() {
		cat > "$rc" <<-EOF2
		set no bouncemail
		poll 127.0.0.1 service $P protocol pop3 uidl
		  user "alice@example.test" there with password "pw-alice" is root here
		  sslproto "TLS1.2+" no sslcertck
		  $1
		  mda "$BATS_TEST_TMPDIR/store"
		EOF2
		chmod 600 "$rc"
	}
	write_rc keep
	fm() { fetchmail -f "$rc" --idfile "$BATS_TEST_TMPDIR/ids" --nosyslog 2>&1; }
	run fm
	echo "$output"
	assert_success
	[ "$(ls "$OUT" | grep -c '^msg')" -eq 3 ]
	[ "$(inbox)" -eq 3 ]
	run fm
	assert_failure 1 # "no mail"
	[ "$(ls "$OUT" | grep -c '^msg')" -eq 3 ]
	sample_message four | mail-deliver alice@example.test
	write_rc "nokeep flush" # flush: also delete what the keep runs left
	run fm
	assert_success
	[ "$(ls "$OUT" | grep -c '^msg')" -eq 4 ]
	[ "$(inbox)" -eq 0 ]
	run fm
	assert_failure 1
	grep -l "Subject: four" "$OUT"/msg.*
}

@test "getmail6: implicit TLS into a Maildir, keep (second run fetches nothing), then delete" {
	P=$(free_port)
	daemon mail-pop3d --tls implicit --listen 127.0.0.1:$P
	wait_port $P
	write_rc() {
		cat > "$BATS_TEST_TMPDIR/getmailrc" <<-EOF2
		[retriever]
		type = SimplePOP3SSLRetriever
		server = 127.0.0.1
		port = $P
		username = alice@example.test
		password = pw-alice
		[destination]
		type = Maildir
		path = $OUT/
		user = nobody
		[options]
		read_all = false
		delete = $1
		EOF2
	}
	gm() { getmail --getmaildir "$BATS_TEST_TMPDIR" --rcfile "$BATS_TEST_TMPDIR/getmailrc" 2>&1; }
	# getmail refuses to deliver as root: a Maildir that nobody can reach
	OUT=$(mktemp -d /tmp/facteur-getmail.XXXXXX)
	echo "$OUT" > "$BATS_TEST_TMPDIR/cleanup"
	mkdir -p "$OUT/tmp" "$OUT/new" "$OUT/cur"
	chmod 755 "$OUT"
	chown -R nobody "$OUT"
	write_rc false
	run gm
	echo "$output"
	assert_success
	[ "$(ls "$OUT/new" | wc -l)" -eq 3 ]
	run gm
	assert_success
	assert_output --partial "0 messages"
	[ "$(ls "$OUT/new" | wc -l)" -eq 3 ]
	[ "$(inbox)" -eq 3 ]
	sample_message four | mail-deliver alice@example.test
	write_rc true
	run gm
	assert_success
	[ "$(ls "$OUT/new" | wc -l)" -eq 4 ]
	[ "$(inbox)" -eq 0 ]
	grep -l "Subject: four" "$OUT"/new/*
	run gm
	assert_success
	assert_output --partial "0 messages"
	[ "$(ls "$OUT/new" | wc -l)" -eq 4 ]
}
