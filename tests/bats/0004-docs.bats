#!/usr/bin/env bats
# Completions load and complete; man pages render.

load helper

setup() { setup_state; }

complete_line() { # words... -> completions for the last word
	bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		f=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\).*/\1/p"); "$f" # the function registered for it
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BATS_TEST_DIRNAME/../../completions/$CFILE" "$@"
}

@test "bash completion: registered, subcommands and live mailbox names" {
	run bash -c "source '$BATS_TEST_DIRNAME/../../completions/mail-admin.bash'; complete -p mail-admin"
	assert_success
	assert_output "complete -F _mail_admin mail-admin"
	CFILE=mail-admin.bash
	run complete_line mail-admin ma
	assert_output "mailbox"
	run complete_line mail-admin mailbox ""
	assert_output --partial "passwd"
	run complete_line mail-admin mailbox show al
	assert_output "alice@example.test"
	run complete_line mail-admin --json domain sh
	assert_output "show"
	run complete_line mail-admin dkim generate example.test --algorithm ed
	assert_output "ed25519-sha256"
	run complete_line mail-admin dkim show ex
	assert_output "example.test"
	CFILE=mail-deliver.bash
	run complete_line mail-deliver b
	assert_output "bob@example.test"
	CFILE=mail-deliver-local.bash
	run complete_line mail-deliver-local --st
	assert_output "--status"
	CFILE=mail-verify.bash
	run complete_line mail-verify --mail
	assert_output "--mail-from"
}

@test "bash completion: mail-queue ids, mail-smtpd options" {
	printf 'smtpd.deliver_local = false\n' >> "$FACTEUR_CONFIG" # keep the message in the queue
	printf '< 220\n> EHLO c\n< 250\n> MAIL FROM:<a@x.test>\n< 250\n> RCPT TO:<bob@example.test>\n< 250\n> DATA\n< 354\n>raw x\\r\\n.\\r\\n\n< 250\n' > "$BATS_TEST_TMPDIR/d"
	python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" "$BATS_TEST_TMPDIR/d"
	id=$(ls "$FACTEUR_STATE_DIR/queue/mess")
	CFILE=mail-queue.bash
	run complete_line mail-queue fl
	assert_output "flush"
	run complete_line mail-queue show ""
	assert_line "$id"
	CFILE=mail-smtpd.bash
	run complete_line mail-smtpd --role s
	assert_output "submission"
	CFILE=mail-send.bash
	run complete_line mail-send --from al
	assert_output "alice@example.test"
	run complete_line mail-send --pr
	assert_output "--print"
	CFILE=mail-autoreply.bash
	run complete_line mail-autoreply bo
	assert_output "bob@example.test"
	CFILE=mail-admin.bash
	run complete_line mail-admin autoreply ""
	assert_output --partial "off"
	run complete_line mail-admin domain disclaimer ""
	assert_output --partial "set"
	run complete_line mail-admin fetch add alice@example.test --protocol ""
	assert_output "$(printf 'imap\npop3')"
	echo x | mail-admin fetch add alice@example.test --protocol imap --host h --user u --password-stdin
	run complete_line mail-admin fetch test ""
	assert_output "1"
	CFILE=mail-fetch.bash
	run complete_line mail-fetch --da
	assert_output "--daemon"
	run complete_line mail-fetch al
	assert_output "alice@example.test"
}

@test "zsh and fish completions parse" {
	for t in mail-admin mail-queue mail-smtpd mail-pop3d mail-send mail-autoreply mail-fetch mail-imapd mail-verify; do
		if command -v zsh >/dev/null; then zsh -n "$BATS_TEST_DIRNAME/../../completions/$t.zsh"; fi
		if command -v fish >/dev/null; then fish -n "$BATS_TEST_DIRNAME/../../completions/$t.fish"; fi
		grep -q "^#compdef $t" "$BATS_TEST_DIRNAME/../../completions/$t.zsh"
	done
}

@test "man pages are built and have an EXIT STATUS section" {
	for p in man/mail-admin.1 man/mail-deliver.8 man/mail-deliver-local.8 man/facteur.toml.5 man/mail-smtpd.8 man/mail-queue.8 man/mail-pop3d.8 man/mail-autoreply.8 man/mail-send.1 man/mail-fetch.8 man/mail-imapd.8 man/mail-verify.8; do
		[ -s "$BUILD/$p" ]
	done
	for p in mail-admin.1 mail-deliver.8 mail-deliver-local.8 mail-smtpd.8 mail-queue.8 mail-pop3d.8 mail-autoreply.8 mail-send.1 mail-fetch.8 mail-imapd.8 mail-verify.8; do
		grep -q 'EXIT STATUS' "$BUILD/man/$p"
	done
	grep -q 'QUEUE FORMAT' "$BUILD/man/mail-queue.8"
}
