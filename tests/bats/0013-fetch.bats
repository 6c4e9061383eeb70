#!/usr/bin/env bats
# mail-fetch against real outside servers: a private Dovecot (IMAP and
# POP3, TLS from a test CA, tests/peers/dovecot) and our own mail-pop3d;
# fake servers for STARTTLS attacks and a proxy that cuts transfers.

load helper

PEERS="$BATS_TEST_DIRNAME/../peers"

setup_file() {
	export DV="$BATS_FILE_TMPDIR/dovecot"
	"$PEERS/dovecot" start "$DV"
	# shellcheck disable=SC1091
	. "$DV/env"
	export IMAP_PORT IMAPS_PORT POP3_PORT POP3S_PORT
	# One outside user per test, made now: Dovecot notices a changed
	# passwd-file by its mtime, too coarse for a user added per test.
	for i in $(seq 30); do "$PEERS/dovecot" user "$DV" "u$i" "pw-u$i"; done
}

teardown_file() { "$PEERS/dovecot" stop "$DV"; }

setup() {
	setup_state
	U="u$BATS_TEST_NUMBER"
	A="$MAIL/alice"
}

teardown() { stop_daemons; }

fill() { python3 "$PEERS/imap_fill.py" "$IMAP_PORT" "$U" "pw-$U" "$@"; }

add_imap() {
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol imap --host localhost \
		--port "$IMAPS_PORT" --ca-file "$DV/ca.pem" --user "$U" --password-stdin "$@"
}

add_pop3() {
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol pop3 --host localhost \
		--port "$POP3_PORT" --tls starttls --ca-file "$DV/ca.pem" --user "$U" --password-stdin "$@"
}

# The message files of a local folder ("" INBOX, or ".Work" ...).
local_files() { find "$A/$1/new" "$A/$1/cur" -type f 2>/dev/null | sort; }
local_count() { local_files "$1" | wc -l; }
# Message-IDs of every message in the mailbox, one per line, sorted.
local_ids() { find "$A" -path '*/new/*' -o -path '*/cur/*' | xargs -r grep -h '^Message-ID:' | sort; }

# listener SCRIPT ARGS...: start a test server of this directory in the
# background (its first argument: the file it writes its port to); PORT
# is that port once it listens.
listener() {
	local file="$BATS_TEST_TMPDIR/port"
	rm -f "$file"
	daemon python3 "$BATS_TEST_DIRNAME/$1" "$file" "${@:2}"
	for _ in $(seq 50); do [ -s "$file" ] && break; sleep 0.1; done
	PORT=$(cat "$file")
}

queued() { find "$FACTEUR_STATE_DIR/queue/mess" -type f 2>/dev/null; }

# remote COMMAND...: run Python with an imaplib connection `m` to our user.
remote() {
	python3 -c "import imaplib; m = imaplib.IMAP4('127.0.0.1', $IMAP_PORT); m.login('$U', 'pw-$U'); $1"
}
remote_count() { remote "print(m.select('\"$1\"')[1][0].decode())"; }

@test "IMAP: first sync brings every folder home with flags and dates, exact bytes; the next runs fetch only what is new" {
	fill --count 5
	fill --folder Work --count 2 --start 10 --flags '\Seen \Flagged' --date '01-Feb-2024 10:00:00 +0000'
	fill --folder Sent --count 1 --start 20
	fill --folder 'Work/Clients' --count 1 --start 30
	run add_imap --all-folders
	assert_success
	run mail-fetch --once
	assert_success
	assert_output --partial "9 messages"
	[ "$(local_count "")" -eq 5 ]
	[ "$(local_count .Work)" -eq 2 ]
	[ "$(local_count .Sent)" -eq 1 ]
	[ "$(local_count .Work.Clients)" -eq 1 ]
	# \Seen and \Flagged kept (in cur/ with :2,FS), the internal date as mtime
	for f in $(local_files .Work); do
		[[ "$f" == */cur/*:2,FS ]]
		[ "$(stat -c %Y "$f")" -eq 1706781600 ]
	done
	for f in $(local_files ""); do [[ "$f" == */new/* ]]; done
	# the bytes are the server's, with LF line ends
	remote "m.select('INBOX'); t, d = m.uid('fetch', '1', '(BODY.PEEK[])'); open('$BATS_TEST_TMPDIR/remote.eml', 'wb').write(d[0][1].replace(b'\r\n', b'\n'))"
	grep -l '^Subject: msg 1$' $(local_files "") > "$BATS_TEST_TMPDIR/which"
	cmp "$BATS_TEST_TMPDIR/remote.eml" "$(cat "$BATS_TEST_TMPDIR/which")"
	# kept on the server, still unseen there
	[ "$(remote_count INBOX)" -eq 5 ]
	run remote "m.select('INBOX'); print(m.search(None, 'UNSEEN')[1][0].decode())"
	assert_output "1 2 3 4 5"
	# the IMAP index knows the files
	run sqlite3 "$A/index.sqlite" "SELECT count(*) FROM messages"
	assert_output 9
	fill --count 3 --start 6
	run mail-fetch --once
	assert_success
	assert_output --partial "3 messages"
	[ "$(local_count "")" -eq 8 ]
	run mail-fetch --once
	assert_output --partial "0 messages"
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
	run mail-admin --json fetch show 1
	assert_output --partial '"fetched":12'
	assert_output --partial '"status":"ok"'
}

@test "IMAP --folders and --into: the chosen folders only, all into one local folder" {
	fill --count 2
	fill --folder Work --count 2 --start 10
	fill --folder Other --count 2 --start 20
	add_imap --folders INBOX,Work --into Imported
	run mail-fetch --once
	assert_success
	[ "$(local_count .Imported)" -eq 4 ]
	[ "$(local_count "")" -eq 0 ]
	run bash -c "grep -h '^Subject:' $A/.Imported/new/* | sort"
	assert_output "$(printf 'Subject: msg 1\nSubject: msg 10\nSubject: msg 11\nSubject: msg 2')"
}

@test "IMAP --delete: delivered here, then gone from the server; POP3 --keep and --delete" {
	fill --count 4
	add_imap --delete
	run mail-fetch --once
	assert_success
	[ "$(local_count "")" -eq 4 ]
	[ "$(remote_count INBOX)" -eq 0 ]
	fill --count 2 --start 5
	run mail-admin fetch remove 1
	assert_success
	add_pop3 --into Pop
	run mail-fetch --once
	assert_success
	[ "$(local_count .Pop)" -eq 2 ]
	run mail-fetch --once
	assert_output --partial "0 messages"
	[ "$(remote_count INBOX)" -eq 2 ]
	# dot-stuffing undone
	grep -q '^\.a line with a leading dot$' "$(local_files .Pop | head -1)"
	mail-admin fetch remove 2
	add_pop3 --into Pop2 --delete
	run mail-fetch --once
	assert_success
	[ "$(local_count .Pop2)" -eq 2 ]
	[ "$(remote_count INBOX)" -eq 0 ]
}

@test "IMAP: a UIDVALIDITY change does not duplicate mail already here" {
	fill --count 4
	add_imap
	mail-fetch --once
	[ "$(local_count "")" -eq 4 ]
	"$PEERS/dovecot" doveadm "$DV" mailbox update -u "$U" --uid-validity 4242 INBOX
	[ "$(remote "print(m.select('INBOX') and m.response('UIDVALIDITY')[1][0].decode())")" = 4242 ]
	fill --count 1 --start 5
	run mail-fetch --once
	assert_success
	assert_output --partial "1 messages"
	[ "$(local_count "")" -eq 5 ]
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
	run mail-fetch --once
	assert_output --partial "0 messages"
}

@test "IMAP: a UIDVALIDITY change interrupted before its batch is recorded still makes no duplicate" {
	fill --count 4
	add_imap
	mail-fetch --once
	"$PEERS/dovecot" doveadm "$DV" mailbox update -u "$U" --uid-validity 5151 INBOX
	fill --count 3 --start 5
	run env FACTEUR_FAULT=dirsync mail-fetch --once
	[ "$status" -eq 75 ]
	[ "$(local_count "")" -eq 7 ]
	run mail-fetch --once --account 1
	assert_success
	[ "$(local_count "")" -eq 7 ]
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
	run sqlite3 "$FACTEUR_STATE_DIR/fetch.sqlite" "SELECT uidvalidity, last_uid FROM folders; SELECT count(*) FROM in_flight"
	assert_output "$(printf '5151|7\n0')"
}

@test "wrong password: the server's text recorded, 77, disabled after 3 refusals; enable and a new password fix it" {
	fill --count 1
	echo wrong | mail-admin fetch add alice@example.test --protocol imap --host localhost \
		--port "$IMAPS_PORT" --ca-file "$DV/ca.pem" --user "$U" --password-stdin
	run mail-admin fetch test 1
	[ "$status" -eq 77 ]
	assert_output --partial "AUTHENTICATIONFAILED"
	run mail-fetch --once
	[ "$status" -eq 77 ]
	run mail-admin fetch list
	assert_output --partial "failing (1 in a row)"
	assert_output --partial "AUTHENTICATIONFAILED"
	mail-fetch --account 1 --once || true
	mail-fetch --account 1 --once || true
	run mail-admin --json fetch list
	assert_output --partial '"enabled":false'
	assert_output --partial 'login refused 3 times in a row'
	run mail-fetch --once
	assert_success
	assert_output --partial "disabled"
	[ "$(local_count "")" -eq 0 ]
	echo "pw-$U" | mail-admin fetch password 1 --password-stdin
	run mail-fetch --once
	assert_success
	[ "$(local_count "")" -eq 1 ]
	# the password is stored sealed, never in clear, and never printed
	run sqlite3 "$FACTEUR_STATE_DIR/directory.sqlite" "SELECT password FROM fetch_accounts"
	[[ "$output" == v1:* ]]
	run grep -r "pw-$U" "$FACTEUR_STATE_DIR/directory.sqlite" "$FACTEUR_STATE_DIR/fetch.sqlite"
	assert_failure
	run mail-admin --json fetch show 1
	refute_output --partial "pw-$U"
}

@test "an untrusted certificate is refused; --no-verify works and is flagged insecure" {
	fill --count 1
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol imap --host localhost \
		--port "$IMAPS_PORT" --user "$U" --password-stdin
	run mail-fetch --once
	[ "$status" -eq 75 ]
	assert_output --partial "TLS handshake failed"
	[ "$(local_count "")" -eq 0 ]
	run mail-admin fetch list
	assert_output --partial "certificate"
	mail-admin fetch remove 1
	# the right CA but another name
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol imap --host 127.0.0.2 \
		--port "$IMAPS_PORT" --ca-file "$DV/ca.pem" --user "$U" --password-stdin
	run mail-fetch --once
	[ "$status" -eq 75 ]
	mail-admin fetch remove 2
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol pop3 --host localhost \
		--port "$POP3S_PORT" --no-verify --user "$U" --password-stdin
	run mail-admin fetch list
	assert_output --partial "INSECURE: certificate not verified"
	run mail-fetch --once
	assert_success
	[ "$(local_count "")" -eq 1 ]
}

@test "STARTTLS missing, refused or followed by injected plaintext: the client aborts before its credentials" {
	for mode in imap-missing imap-refuse imap-inject pop3-missing pop3-refuse pop3-inject; do
		listener fake_starttls.py "$mode" "$BATS_TEST_TMPDIR/$mode.log"
		echo secret-xyz | mail-admin fetch add alice@example.test --protocol "${mode%-*}" --host localhost \
			--port "$PORT" --tls starttls --user "$U" --password-stdin >/dev/null
		id=$(mail-admin --json fetch list | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
		run mail-fetch --once --account "$id"
		[ "$status" -ne 0 ]
		case $mode in
		*-missing) assert_output --regexp "does not offer (STARTTLS|STLS)" ;;
		*-refuse) assert_output --regexp "(NO not today|-ERR not today)" ;;
		*-inject) assert_output --partial "sent data before the TLS handshake" ;;
		esac
		run grep -Eic "^(F[0-9]+ )?(LOGIN|AUTHENTICATE|USER|PASS|AUTH)( |$)" "$BATS_TEST_TMPDIR/$mode.log"
		assert_output 0
		run grep -c secret-xyz "$BATS_TEST_TMPDIR/$mode.log"
		assert_output 0
		mail-admin fetch remove "$id"
		stop_daemons
	done
}

@test "server gone mid-transfer: what arrived whole is kept, no partial file, the next run completes without duplicates" {
	fill --count 20 --size 20000
	listener cut_proxy.py "$IMAPS_PORT" 200000
	echo "pw-$U" | mail-admin fetch add alice@example.test --protocol imap --host localhost \
		--port "$PORT" --ca-file "$DV/ca.pem" --user "$U" --password-stdin
	run mail-fetch --once
	[ "$status" -eq 75 ]
	assert_output --partial "lost"
	got=$(local_count "")
	[ "$got" -gt 0 ] && [ "$got" -lt 20 ]
	[ "$(find "$A/tmp" -type f | wc -l)" -eq 0 ]
	for f in $(local_files ""); do tail -1 "$f" | grep -q '^\.a line with a leading dot$'; done
	run mail-admin fetch list
	assert_output --partial "failing (1 in a row)"
	# the same account, now straight to the server
	sqlite3 "$FACTEUR_STATE_DIR/directory.sqlite" "UPDATE fetch_accounts SET port=$IMAPS_PORT"
	run mail-fetch --once --account 1
	assert_success
	[ "$(local_count "")" -eq 20 ]
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
}

@test "kill -9 at any moment: nothing lost, at most the message in flight twice" {
	fill --count 600 --size 3000
	add_imap
	kills=0
	for delay in 0.05 0.15 0.3 0.5; do
		mail-fetch --once --account 1 2>/dev/null &
		pid=$!
		sleep $delay
		pkill -9 -f 'mail-fetch --once' || true
		wait "$pid" || true
		kills=$((kills + 1))
		echo "after kill $kills: $(local_count "") messages" >&3
	done
	run mail-fetch --once
	assert_success
	total=$(local_ids | wc -l)
	unique=$(local_ids | uniq | wc -l)
	[ "$unique" -eq 600 ]
	[ "$total" -le $((600 + kills)) ]
	echo "$total files for 600 messages after $kills kills" >&3
}

@test "a batch written but not recorded (directory sync fails): the next run recognises its files" {
	fill --count 10
	add_imap
	run env FACTEUR_FAULT=dirsync mail-fetch --once
	[ "$status" -eq 75 ]
	[ "$(local_count "")" -eq 10 ]
	run sqlite3 "$FACTEUR_STATE_DIR/fetch.sqlite" "SELECT count(*) FROM in_flight; SELECT count(*) FROM fetched"
	assert_output "$(printf '1\n0')"
	# named, so not held back by the backoff after the failure
	run mail-fetch --once --account 1
	assert_success
	assert_output --partial "already here"
	[ "$(local_count "")" -eq 10 ]
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
	run sqlite3 "$FACTEUR_STATE_DIR/fetch.sqlite" "SELECT count(*) FROM in_flight; SELECT count(*) FROM fetched"
	assert_output "$(printf '0\n10')"
	fill --count 1 --start 11
	run mail-fetch --once --account 1
	assert_output --partial "1 messages"
}

@test "auto-reply: not for the first import, only for mail arriving later" {
	fill --count 2
	printf 'I am away.\n' > "$BATS_TEST_TMPDIR/away.txt"
	mail-admin autoreply set alice@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --extra-address carol@outside.test
	add_imap
	mail-fetch --once
	[ "$(local_count "")" -eq 2 ]
	[ "$(queued | wc -l)" -eq 0 ]
	sleep 1
	fill --count 1 --start 3
	mail-fetch --once
	[ "$(local_count "")" -eq 3 ]
	[ "$(queued | wc -l)" -eq 1 ]
	run cat $(queued)
	assert_output --partial "sender3@outside.test"
	assert_output --partial "I am away."
}

@test "a full mailbox: a temporary failure, nothing lost, fetched once there is room" {
	fill --count 3 --size 5000
	mail-admin mailbox quota alice@example.test 8K
	add_imap
	run mail-fetch --once
	[ "$status" -eq 75 ]
	assert_output --partial "mailbox full"
	[ "$(local_count "")" -eq 1 ]
	mail-admin mailbox quota alice@example.test 1M
	run mail-fetch --once --account 1
	assert_success
	[ "$(local_count "")" -eq 3 ]
	[ "$(local_ids | uniq -d | wc -l)" -eq 0 ]
}

@test "a message over the size limit stays on the server and is named; the others come" {
	fill --count 2 --size 2000
	fill --count 1 --start 3 --size 60000
	printf 'delivery.max_message_size = "20K"\n' >> "$FACTEUR_CONFIG"
	add_imap --delete
	run mail-fetch --once
	assert_success
	assert_output --partial "over the message size limit; left on the server"
	[ "$(local_count "")" -eq 2 ]
	[ "$(remote_count INBOX)" -eq 1 ]
	run mail-admin fetch list
	assert_output --partial "UID 3"
	assert_output --partial "left on the server"
}

# A second facteur in $OTHER with carol@old.test and three messages in her
# INBOX: the outside server of the "our own mail-pop3d/mail-imapd" tests.
old_facteur() {
	OTHER="$BATS_TEST_TMPDIR/other"
	(
		export FACTEUR_STATE_DIR="$OTHER"
		mail-admin init >/dev/null
		mail-admin domain add old.test
		echo pw-old | mail-admin mailbox add carol@old.test --password-stdin
		for i in 1 2 3; do sample_message "old$i" | mail-deliver carol@old.test; done
	)
}

@test "our own mail-pop3d as the outside server" {
	old_facteur
	P=$(free_port)
	FACTEUR_STATE_DIR="$OTHER" daemon mail-pop3d --listen 127.0.0.1:$P
	wait_port "$P"
	echo pw-old | mail-admin fetch add alice@example.test --protocol pop3 --host 127.0.0.1 --port "$P" \
		--tls none --user carol@old.test --password-stdin --delete
	run mail-admin fetch list
	assert_output --partial "INSECURE: no TLS"
	run mail-fetch --once
	assert_success
	[ "$(local_count "")" -eq 3 ]
	[ "$(find "$OTHER/mail/old.test/carol/new" "$OTHER/mail/old.test/carol/cur" -type f | wc -l)" -eq 0 ]
}

@test "our own mail-imapd as the outside server: folders, flags, --delete, implicit TLS" {
	old_facteur
	P=$(free_port)
	mkdir -p "$OTHER/mail/old.test/carol/.Work/"{new,cur,tmp}
	sample_message "work1" | FACTEUR_STATE_DIR="$OTHER" mail-deliver carol+Work@old.test
	# one message read and flagged on the old server
	f=$(ls "$OTHER/mail/old.test/carol/new" | head -n 1)
	mv "$OTHER/mail/old.test/carol/new/$f" "$OTHER/mail/old.test/carol/cur/$f:2,FS"
	FACTEUR_STATE_DIR="$OTHER" daemon mail-imapd --tls implicit --listen 127.0.0.1:$P
	wait_port "$P"
	echo pw-old | mail-admin fetch add alice@example.test --protocol imap --host 127.0.0.1 --port "$P" \
		--tls implicit --no-verify --user carol@old.test --password-stdin \
		--all-folders --delete
	run mail-fetch --once
	echo "$output"
	assert_success
	[ "$(local_count "")" -eq 3 ]
	[ "$(local_count ".Work")" -eq 1 ]
	[ "$(ls "$A/cur" | grep -c ':2,FS$')" -eq 1 ]
	# fetched with --delete: gone from the old server's INBOX and Work
	[ "$(find "$OTHER/mail/old.test/carol/new" "$OTHER/mail/old.test/carol/cur" -type f | wc -l)" -eq 0 ]
	[ "$(find "$OTHER/mail/old.test/carol/.Work/new" "$OTHER/mail/old.test/carol/.Work/cur" -type f | wc -l)" -eq 0 ]
	run mail-fetch --once
	assert_success
	[ "$(local_count "")" -eq 3 ]
}

@test "daemon: notices a new account, IDLE brings new mail within seconds, stops cleanly" {
	fill --count 1
	daemon mail-fetch --daemon
	sleep 1
	add_imap --interval 1h
	for _ in $(seq 100); do [ "$(local_count "")" -eq 1 ] && break; sleep 0.1; done
	[ "$(local_count "")" -eq 1 ]
	sleep 1
	fill --count 1 --start 2
	for _ in $(seq 50); do [ "$(local_count "")" -eq 2 ] && break; sleep 0.1; done
	[ "$(local_count "")" -eq 2 ]
	# a disabled account's session ends
	mail-admin fetch disable 1
	for _ in $(seq 100); do pgrep -f 'mail-fetch --daemon' | wc -l | grep -qx 1 && break; sleep 0.1; done
	[ "$(pgrep -f 'mail-fetch --daemon' | wc -l)" -eq 1 ]
	stop_daemons
	for _ in $(seq 50); do pgrep -f 'mail-fetch --daemon' >/dev/null || break; sleep 0.1; done
	run pgrep -f 'mail-fetch --daemon'
	assert_failure
}

@test "one bad account does not delay the others" {
	fill --count 3
	# a server that accepts and never says a word
	listener silent_server.py
	printf 'fetch.timeout = "20s"\n' >> "$FACTEUR_CONFIG"
	echo x | mail-admin fetch add alice@example.test --protocol imap --host 127.0.0.1 \
		--port "$PORT" --tls none --user silent --password-stdin
	add_imap
	start=$(date +%s)
	mail-fetch --once 2>"$BATS_TEST_TMPDIR/once.log" &
	pid=$!
	for _ in $(seq 140); do [ "$(local_count "")" -eq 3 ] && break; sleep 0.1; done
	cat "$BATS_TEST_TMPDIR/once.log" # shown when the test fails
	[ "$(local_count "")" -eq 3 ]
	[ $(($(date +%s) - start)) -lt 15 ] # before the silent account's 20 s timeout
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 75 ]
	run mail-admin fetch list
	assert_output --partial "lost or timed out"
}

@test "on a terminal, the first import shows its progress" {
	fill --count 30
	add_imap
	run script -qec "mail-fetch --once" /dev/null
	assert_success
	assert_output --partial "INBOX: 30/30 messages"
	assert_output --partial "msg/s"
}

@test "fetch add checks its arguments; list, show, disable, remove" {
	run mail-admin fetch add nobody@example.test --protocol imap --host h --user u --password-stdin <<< x
	[ "$status" -eq 67 ]
	run mail-admin fetch add alice@example.test --protocol smtp --host h --user u --password-stdin <<< x
	[ "$status" -eq 64 ]
	run mail-admin fetch add alice@example.test --protocol pop3 --host h --user u --folders Work --password-stdin <<< x
	[ "$status" -eq 64 ]
	run mail-admin fetch add alice@example.test --protocol imap --host h --user u --into ../x --password-stdin <<< x
	[ "$status" -eq 64 ]
	run mail-admin fetch add alice@example.test --protocol imap --host h --user u --keep --delete --password-stdin <<< x
	[ "$status" -eq 64 ]
	run mail-admin fetch add alice@example.test --protocol imap --host imap.old.test --user u --password-stdin <<< x
	assert_success
	assert_output "fetch account 1: imap://u@imap.old.test:993 -> alice@example.test"
	run mail-admin fetch show 1
	assert_output --partial "status:       new"
	mail-admin fetch disable 1
	run mail-admin fetch list
	assert_output --partial "disabled"
	run mail-fetch --once
	assert_success
	run mail-admin fetch show 7
	[ "$status" -eq 67 ]
	mail-admin fetch remove 1
	run mail-admin --json fetch list
	assert_output "[]"
}
