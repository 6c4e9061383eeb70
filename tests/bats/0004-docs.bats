#!/usr/bin/env bats
# Completions load and complete; man pages render.

load helper

setup() { setup_state; }

complete_line() { # words... -> completions for the last word
	bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_mail_admin 2>/dev/null || _mail_deliver
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
	CFILE=mail-deliver.bash
	run complete_line mail-deliver b
	assert_output "bob@example.test"
}

@test "zsh and fish completions parse" {
	if command -v zsh >/dev/null; then zsh -n "$BATS_TEST_DIRNAME/../../completions/mail-admin.zsh"; fi
	if command -v fish >/dev/null; then fish -n "$BATS_TEST_DIRNAME/../../completions/mail-admin.fish"; fi
	grep -q '^#compdef mail-admin' "$BATS_TEST_DIRNAME/../../completions/mail-admin.zsh"
}

@test "man pages are built and have an EXIT STATUS section" {
	for p in man/mail-admin.1 man/mail-deliver.8 man/facteur.toml.5; do
		[ -s "$BUILD/$p" ]
	done
	grep -q 'EXIT STATUS' "$BUILD/man/mail-admin.1"
	grep -q 'EXIT STATUS' "$BUILD/man/mail-deliver.8"
}
