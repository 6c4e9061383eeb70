#!/usr/bin/env bats
# mail-fetch against hostile outside servers (tests/bats/hostile_mail_server.py):
# the size limit holds against the bytes that arrive, a response that never
# ends is cut by the command's time and size budget, and nothing is deleted
# on the server when a message is refused.

load helper

setup() {
	setup_state
	A="$MAIL/alice"
	LOG="$BATS_TEST_TMPDIR/server.log"
	printf 'delivery.max_message_size = "1M"\nfetch.timeout = "5s"\n' >> "$FACTEUR_CONFIG"
}

teardown() { stop_daemons; }

# hostile MODE: start the server, PORT is its port.
hostile() {
	local file="$BATS_TEST_TMPDIR/port"
	daemon python3 "$BATS_TEST_DIRNAME/hostile_mail_server.py" "$file" "$1" "$LOG"
	for _ in $(seq 50); do [ -s "$file" ] && break; sleep 0.1; done
	PORT=$(cat "$file")
}

add_account() { # PROTOCOL [OPTIONS...]
	echo secret | mail-admin fetch add alice@example.test --protocol "$1" --host 127.0.0.1 --port "$PORT" \
		--tls none --user u --password-stdin "${@:2}" >/dev/null
}

# Bytes the server sent of its endless answer before mail-fetch hung up.
sent() { for _ in $(seq 30); do grep -q '^sent ' "$LOG" && break; sleep 0.1; done; sed -n 's/^sent //p' "$LOG" | tail -1; }

# refused_and_kept PROTOCOL ERROR: an account with --delete fails (not by
# the test's timeout), having read a bounded part of the endless message;
# nothing stored, nothing in tmp/, the error recorded.
refused_and_kept() {
	add_account "$1" --delete
	run timeout 60 mail-fetch --once
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[ "$(sent)" -lt $((32 * 1024 * 1024)) ]
	[ -z "$(find "$A" -type d -name tmp -exec find {} -type f \;)" ]
	[ "$(find "$A/new" "$A/cur" -type f | wc -l)" -eq 0 ]
	run mail-admin fetch list
	assert_output --partial "$2"
}

@test "IMAP: a body announced as 9999999999 bytes is refused before it is read; nothing deleted remotely" {
	hostile imap-big-literal
	refused_and_kept imap "announced a message of 9999999999 bytes, over the message size limit"
	! grep -qiE 'STORE|EXPUNGE' "$LOG"
}

@test "POP3: a RETR that never ends stops at the size limit; nothing deleted remotely" {
	hostile pop3-endless-retr
	refused_and_kept pop3 "more than 1048576 bytes for one message"
	! grep -qi '^DELE' "$LOG"
}

@test "IMAP: endless untagged lines are cut by the command's size budget" {
	printf 'fetch.command_timeout = "120s"\n' >> "$FACTEUR_CONFIG"
	hostile imap-endless
	add_account imap
	run timeout 100 mail-fetch --once
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[ "$(sent)" -lt $((200 * 1024 * 1024)) ]
	run mail-admin fetch list
	assert_output --partial "bytes in answer to one command"
}

@test "IMAP: an answer that trickles on forever is cut by the command's time budget" {
	printf 'fetch.command_timeout = "3s"\n' >> "$FACTEUR_CONFIG"
	hostile imap-slow
	add_account imap
	start=$(date +%s)
	run timeout 60 mail-fetch --once
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[ $(($(date +%s) - start)) -lt 30 ]
	run mail-admin fetch list
	assert_output --partial "did not finish its answer to one command within 3 s"
}

@test "IMAP: no UID above 4294967295 is ever sent, also after the last possible UID" {
	hostile imap-high-uid
	add_account imap
	run mail-fetch --once
	assert_success
	[ "$(find "$A/new" "$A/cur" -type f | wc -l)" -eq 1 ]
	run mail-fetch --once
	assert_success
	! grep -E '[0-9]{11,}|429496729[6-9]' "$LOG"
}
