# Shared setup: a fresh installation in a temporary state directory.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BUILD="${FACTEUR_BUILD:-$BATS_TEST_DIRNAME/../../build}"
PATH="$BUILD/tools:$PATH"

setup_state() {
	export FACTEUR_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/facteur.toml"
	: > "$FACTEUR_CONFIG"
	mail-admin init >/dev/null
	mail-admin domain add example.test
	echo pw-alice | mail-admin mailbox add alice@example.test --password-stdin
	mail-admin mailbox add bob@example.test --no-password
	MAIL="$FACTEUR_STATE_DIR/mail/example.test"
}

# sample_message SUBJECT -> a small message on stdout
sample_message() {
	printf 'From: carol@elsewhere.test\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s@elsewhere.test>\n\nbody of %s\n' "$1" "$1" "$1"
}

export -f sample_message

count_files() { find "$1" -type f | wc -l; }
