#!/usr/bin/env bats
# Privilege separation: mail-smtpd under a user of its own (smtpd.user, or
# User= in its unit), a member of the store's group, adds to the queue,
# reads the directory and counts failed logins, and reaches nothing else:
# not the mailboxes, the secret key, the DKIM keys, the other databases,
# nor another's queue entries. The store's owner here is a uid without a
# name (60111, group nogroup); mail-smtpd runs as nobody (group nogroup).

load helper

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	S=$(mktemp -d /tmp/facteur-privsep-XXXXXX)
	chmod 755 "$S"
	export FACTEUR_STATE_DIR="$S/state"
	export FACTEUR_CONFIG="$S/facteur.toml"
	printf 'outbound.dns_servers = "127.0.0.1:9"\noutbound.dns_timeout = 1\nsmtpd.user = "nobody"\n' > "$FACTEUR_CONFIG"
	chmod 644 "$FACTEUR_CONFIG"
	install -d -o 60111 -g nogroup -m 700 "$FACTEUR_STATE_DIR"
	mail-admin init >/dev/null
	mail-admin domain add example.test
	echo pw-alice | mail-admin mailbox add alice@example.test --password-stdin
	mail-admin dkim generate example.test >/dev/null
	MAIL="$FACTEUR_STATE_DIR/mail/example.test"
}
teardown() {
	stop_daemons
	[ -n "${S:-}" ] && rm -rf "$S"
}

# as_smtpd CMD...: CMD as mail-smtpd's user would run it (nobody, group nogroup only)
as_smtpd() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

@test "init gives the store's group what mail-smtpd needs and nothing more; check reports and repairs a wrong mode" {
	cd "$FACTEUR_STATE_DIR"
	run stat -c '%a %n' . directory.sqlite directory.sqlite-wal queue queue/tmp queue/mess queue/state auth reports policy mail secret.key tls/key.pem
	assert_output "710 .
640 directory.sqlite
640 directory.sqlite-wal
710 queue
3770 queue/tmp
3770 queue/mess
700 queue/state
2770 auth
2770 reports
2770 policy
700 mail
600 secret.key
640 tls/key.pem"
	chmod 00755 queue/mess
	run mail-admin check
	assert_failure 65
	assert_output --partial "queue/mess is 0755, should be 3770"
	run mail-admin check --repair
	assert_success
	[ "$(stat -c %a queue/mess)" = 3770 ]
	run mail-admin check
	assert_success
}

@test "mail-smtpd as its own user: queues (0640, its own), AUTH reads the directory and counts failures; mail-queue delivers it" {
	P=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$P
	wait_port $P
	S2=$(free_port)
	daemon mail-smtpd --role submission --listen 127.0.0.1:$S2
	wait_port $S2
	run python3 - "$P" "$S2" <<'PY'
import smtplib, sys
mx = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
mx.sendmail("carol@elsewhere.test", ["alice@example.test"], b"Subject: in\r\n\r\nto alice\r\n")
mx.quit()
sub = smtplib.SMTP("127.0.0.1", int(sys.argv[2]))
try:
    sub.login("alice@example.test", "wrong")
    raise SystemExit("a wrong password was accepted")
except smtplib.SMTPAuthenticationError:
    pass
sub.quit()
sub = smtplib.SMTP("127.0.0.1", int(sys.argv[2]))
sub.login("alice@example.test", "pw-alice")
sub.sendmail("alice@example.test", ["alice@example.test"], b"From: alice@example.test\r\nSubject: out\r\n\r\nto self\r\n")
sub.quit()
print("sent")
PY
	echo "$output"
	assert_success
	assert_output "sent"
	# Its processes run as nobody, and the entries are nobody's, 0640, in the store's group.
	for pid in $(cat "$BATS_TEST_TMPDIR/pids"); do [ "$(stat -c %U /proc/$pid)" = nobody ]; done
	run find "$FACTEUR_STATE_DIR/queue/mess" -type f -printf '%u %g %m\n'
	assert_output "nobody nogroup 640
nobody nogroup 640"
	run find "$FACTEUR_STATE_DIR/auth" -name auth.sqlite -printf '%m\n'
	assert_output 660
	# The failed login was counted (mail-smtpd wrote auth.sqlite).
	run python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM failures").fetchone()[0])' "$FACTEUR_STATE_DIR/auth/auth.sqlite"
	refute_output 0
	mail-queue run --once
	[ "$(find "$FACTEUR_STATE_DIR/queue/mess" -type f | wc -l)" -eq 0 ]
	grep -l "^Subject: in" "$MAIL"/alice/new/*
	grep -l "^Subject: out" "$MAIL"/alice/new/*
	[ -z "$(find "$FACTEUR_STATE_DIR" ! -user 60111 ! -path '*/auth/*')" ]
}

@test "mail-smtpd's user reaches no mailbox, key or other database, and removes no other entry" {
	sample_message secret | mail-deliver alice@example.test
	# An entry of the owner's (a forward, a bounce) in mess/
	printf 'owner entry\n' > "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1"
	chown 60111 "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1"
	chmod 600 "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1"
	run as_smtpd ls "$FACTEUR_STATE_DIR"
	assert_failure
	run as_smtpd find "$FACTEUR_STATE_DIR/mail"
	assert_output --partial "Permission denied"
	for f in secret.key fetch.sqlite dkim mail/example.test/alice queue/state queue/mess/1.000001.P1Q1; do
		run as_smtpd cat "$FACTEUR_STATE_DIR/$f"
		assert_failure
	done
	run as_smtpd rm -f "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1"
	assert_failure
	run as_smtpd mv "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1" "$FACTEUR_STATE_DIR/queue/tmp/x"
	assert_failure
	[ -f "$FACTEUR_STATE_DIR/queue/mess/1.000001.P1Q1" ]
	# what it may do: read the directory, and add to the queue
	as_smtpd cat "$FACTEUR_STATE_DIR/directory.sqlite" > /dev/null
	as_smtpd sh -c "echo x > '$FACTEUR_STATE_DIR/queue/tmp/mine'"
}

@test "an inetd-style mail-smtpd started as that user (systemd User=, Group=) queues a message" {
	printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups %s "$@"\n' "$BUILD/tools/mail-smtpd" > "$S/smtpd"
	chmod 755 "$S/smtpd"
	run python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$S/smtpd" /dev/stdin <<-'EOF2'
	< 220
	> EHLO c
	< 250
	> MAIL FROM:<carol@elsewhere.test>
	< 250
	> RCPT TO:<alice@example.test>
	< 250
	> RCPT TO:<nobody-here@example.test>
	< 550 5.1.1
	> DATA
	< 354
	>raw Subject: inetd\r\n\r\nx\r\n.\r\n
	< 250 2.0.0
	EOF2
	echo "$output"
	assert_success
	mail-queue run --once
	grep -l "^Subject: inetd" "$MAIL"/alice/new/*
}

@test "confined after login (Landlock), IMAP and POP3 sessions still serve their mailbox, iconv's modules included" {
	echo pw-bob | mail-admin mailbox add bob@example.test --password-stdin
	printf 'From: x@elsewhere.test\nSubject: latin\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9 cr\xe8me\n' | mail-deliver alice@example.test
	P=$(free_port)
	daemon mail-imapd --listen 127.0.0.1:$P
	wait_port $P
	Q=$(free_port)
	daemon mail-pop3d --listen 127.0.0.1:$Q
	wait_port $Q
	run python3 - "$P" "$Q" <<'PY'
import imaplib, poplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice@example.test", "pw-alice")
m.select("INBOX")
# A Latin-1 body searched as UTF-8: iconv loads its module after the login.
print(m.uid("SEARCH", "CHARSET", "UTF-8", "BODY", "crème".encode())[1])
m.create("Work"); m.append("Work", None, None, b"Subject: w\r\n\r\nx\r\n")
print(m.select("Work")[1], m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")[0])
m.logout()
p = poplib.POP3("127.0.0.1", int(sys.argv[2]))
p.user("alice@example.test"); p.pass_("pw-alice")
print("pop3", p.stat()[0], b"caf" in b"\n".join(p.retr(1)[1]))
p.dele(1); p.quit()
PY
	echo "$output"
	assert_success
	assert_line --regexp "^\[b'[0-9]+'\]$"
	assert_line "[b'1'] OK"
	assert_line "pop3 1 True"
	[ "$(find "$MAIL/alice/new" "$MAIL/alice/cur" -type f | wc -l)" -eq 0 ]
}
