#!/usr/bin/env bats
# No program follows a symbolic link inside the mail store: a folder that is
# a link (into another mailbox, or out of the store) is neither listed,
# selected, renamed, deleted, appended nor copied to; POP3 and delivery
# refuse a mailbox whose INBOX directories are links. The target is never
# harmed.

load helper

setup() {
	setup_smtp
	for s in one two; do sample_message "$s" | mail-deliver alice@example.test; done
	for s in bob1 bob2; do sample_message "$s" | mail-deliver bob@example.test; done
	B="$MAIL/bob"
	BOB_FILES=$(find "$B" -type f -path "$B/*" | sort | xargs sha256sum)
}
teardown() { stop_daemons; }

bob_untouched() { [ "$(find "$B" -type f -path "$B/*" | sort | xargs sha256sum)" = "$BOB_FILES" ]; }

serve() {
	P=$(free_port)
	daemon "$@" --listen 127.0.0.1:$P
	wait_port $P
}

@test "IMAP: a folder that is a link into another mailbox is not listed, selected, renamed, deleted, appended or copied to" {
	ln -s ../bob "$MAIL/alice/.Shared"
	ln -s /etc "$MAIL/alice/.Outside"
	serve mail-imapd
	run python3 - "$P" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice@example.test", "pw-alice")
names = b" ".join(m.list()[1])
assert b"Shared" not in names and b"Outside" not in names, names
for folder in ("Shared", "Outside"):
    for cmd in (lambda: m.select(folder), lambda: m.status(folder, "(MESSAGES)"),
                lambda: m.rename(folder, "Mine"), lambda: m.delete(folder),
                lambda: m.append(folder, None, None, b"Subject: x\r\n\r\ny\r\n")):
        typ, data = cmd()
        assert typ == "NO", (folder, typ, data)
m.select("INBOX")
typ, data = m.copy("1", "Shared")
assert typ == "NO", data
print("ok")
PY
	echo "$output"
	assert_success
	bob_untouched
	[ -L "$MAIL/alice/.Shared" ]
}

@test "IMAP and POP3: a mailbox whose INBOX is a link is refused; delivery into it fails temporarily" {
	rm -rf "$MAIL/alice/new"
	ln -s ../bob/new "$MAIL/alice/new"
	serve mail-pop3d
	run python3 -c "
import poplib, sys
p = poplib.POP3('127.0.0.1', $P)
p.user('alice@example.test')
try:
    p.pass_('pw-alice')
    print('logged in:', p.stat())
except poplib.error_proto as e:
    print('refused', e)
"
	assert_output --partial "refused"
	assert_output --partial "SYS/TEMP"
	run sh -c 'sample_message three | mail-deliver alice@example.test'
	[ "$status" -eq 75 ]
	bob_untouched
	serve mail-imapd
	run python3 -c "
import imaplib
m = imaplib.IMAP4('127.0.0.1', $P)
m.login('alice@example.test', 'pw-alice')
print(m.select('INBOX'))
"
	[ "$status" -ne 0 ] || [[ "$output" == *NO* ]]
	bob_untouched
}

@test "every database is the owner's alone (0600; the directory 0640 and auth 0660 for the store's group), whatever the umask" {
	umask 022
	mail-admin mailbox add carol@example.test --no-password
	sample_message four | mail-deliver carol@example.test
	mail-fetch --once
	serve mail-imapd
	python3 -c "
import imaplib
m = imaplib.IMAP4('127.0.0.1', $P)
try: m.login('alice@example.test', 'wrong')
except imaplib.IMAP4.error: pass
m.login('alice@example.test', 'pw-alice'); m.select('INBOX'); m.logout()
"
	run find "$FACTEUR_STATE_DIR" -name '*.sqlite*' -printf '%m %P\n'
	echo "$output"
	assert_output --partial "640 directory.sqlite"
	assert_output --partial "660 auth/auth.sqlite"
	assert_output --partial "fetch.sqlite"
	assert_output --partial "carol/index.sqlite"
	run grep -v -e '^640 directory.sqlite' -e '^660 auth/auth.sqlite' <<< "$output"
	assert_output --partial "600 fetch.sqlite"
	refute_output --regexp '^[^6]|^6[^0]|^60[^0]'
	[ "$(stat -c %a "$MAIL/carol")" = 700 ]
}

@test "started as root, every tool becomes the store's owner: no file in the store belongs to root" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	S=$(mktemp -d /tmp/facteur-owner-XXXXXX)
	chmod 755 "$S"
	export FACTEUR_STATE_DIR="$S/state"
	install -d -o nobody -g nogroup -m 700 "$FACTEUR_STATE_DIR"
	mail-admin init >/dev/null
	mail-admin domain add example.test
	echo pw-dave | mail-admin mailbox add dave@example.test --password-stdin
	sample_message five | mail-deliver dave@example.test
	run mail-admin check --repair
	assert_success
	serve mail-imapd
	run python3 -c "
import imaplib
m = imaplib.IMAP4('127.0.0.1', $P)
m.login('dave@example.test', 'pw-dave'); print(m.select('INBOX')); m.append('INBOX', None, None, b'Subject: s\r\n\r\nx\r\n')
"
	assert_success
	assert_output --partial "'OK'"
	stop_daemons
	run find "$FACTEUR_STATE_DIR" ! -user nobody
	rm -rf "$S"
	assert_output ""
}
