# Shared setup: a fresh installation in a temporary state directory.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BUILD="${FACTEUR_BUILD:-$BATS_TEST_DIRNAME/../../build}"
PATH="$BUILD/tools:$PATH"

setup_state() {
	export FACTEUR_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/facteur.toml"
	# Never the machine's DNS: remote domains fail (temporarily) at once.
	printf 'outbound.dns_servers = "127.0.0.1:9"\noutbound.dns_timeout = 1\nchecks.dns_servers = "127.0.0.1:9"\nchecks.dns_timeout = 1\n' > "$FACTEUR_CONFIG"
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

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [IP]: until something accepts connections there (5 s at
# most; IP 127.0.0.1 by default).
wait_port() {
	for _ in $(seq 50); do
		python3 -c "import socket,sys; socket.create_connection(('${2:-127.0.0.1}',$1),1)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The same users and addresses for every SMTP test.
setup_smtp() {
	setup_state
	mail-admin alias add sales@example.test alice@example.test bob@example.test
	mail-admin alias add info@example.test alice@example.test
	mail-admin group add team@example.test alice@example.test bob@example.test
	QUEUE="$FACTEUR_STATE_DIR/queue"
}

# Stop the background daemons a test started (pids in $BATS_TEST_TMPDIR/pids).
stop_daemons() {
	[ -f "$BATS_TEST_TMPDIR/pids" ] || return 0
	while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/pids"
	rm -f "$BATS_TEST_TMPDIR/pids"
}

# daemon CMD...: run CMD in the background, remembered for stop_daemons.
daemon() {
	"$@" 2>>"$BATS_TEST_TMPDIR/daemon.log" &
	echo $! >> "$BATS_TEST_TMPDIR/pids"
}

# queued_files: the message files waiting in the queue
queued_files() { find "$QUEUE/mess" -type f | sort; }
