#!/usr/bin/env bats
# Real SMTP clients against mail-smtpd on loopback ports, with mail-queue
# run delivering: Python smtplib, swaks, curl; the socket modes of
# systemd-socket-activate; the connection caps of --listen.

load helper

setup() {
	setup_smtp
	MX=$(free_port) SUB=$(free_port) SUBS=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$MX
	daemon mail-smtpd --role submission --listen 127.0.0.1:$SUB
	daemon mail-smtpd --role submission --tls implicit --listen 127.0.0.1:$SUBS
	daemon mail-queue run
	wait_port $MX && wait_port $SUB && wait_port $SUBS
}
teardown() { stop_daemons; }

# wait_for_mail MAILBOX N: until the mailbox INBOX holds N messages (10 s)
wait_for_mail() {
	for _ in $(seq 100); do
		[ "$(find "$MAIL/$1/new" "$MAIL/$1/cur" -type f | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	find "$MAIL/$1" -type f; mail-queue list; cat "$BATS_TEST_TMPDIR/daemon.log"
	return 1
}

CLIENTS="$BATS_TEST_DIRNAME/../clients"

@test "smtplib: STARTTLS + AUTH PLAIN, implicit TLS + AUTH LOGIN, several recipients" {
	run python3 "$CLIENTS/smtplib_submit.py" starttls $SUB PLAIN "via starttls" bob@example.test sales@example.test
	assert_success
	run python3 "$CLIENTS/smtplib_submit.py" implicit $SUBS LOGIN "via implicit" bob@example.test
	assert_success
	wait_for_mail bob 2
	wait_for_mail alice 1
	# mblaze reads what was delivered
	run bash -c "mlist '$MAIL/bob' | mscan -f '%s'"
	assert_line --partial "via starttls"
	assert_line --partial "via implicit"
	f=$(grep -l "via starttls" "$MAIL"/bob/new/*)
	run mshow "$f"
	assert_output --partial "Grüße from smtplib"
	assert_line "."
	assert_output --partial "A line with a lone dot above."
	grep -q "^Received: by .* with ESMTPSA id" "$f"
	grep -q "(version=TLSv1.3 cipher=" "$f"
	# sales@ reached alice through the alias
	grep -l "via starttls" "$MAIL"/alice/new/*
}

@test "swaks: STARTTLS, AUTH LOGIN, pipelining; MX without AUTH" {
	run swaks --server 127.0.0.1:$SUB --tls --auth LOGIN --auth-user alice@example.test \
		--auth-password pw-alice --from alice@example.test --to bob@example.test \
		--pipeline --header "Subject: by swaks"
	assert_success
	assert_output --partial "250 2.0.0 OK delivered as"
	run swaks --server 127.0.0.1:$MX --from carol@elsewhere.test --to alice@example.test \
		--header "Subject: swaks to mx" --pipeline
	assert_success
	run swaks --server 127.0.0.1:$MX --from carol@elsewhere.test --to victim@elsewhere.test
	assert_failure
	assert_output --partial "554 5.7.1"
	wait_for_mail bob 1
	wait_for_mail alice 1
	grep -l "Subject: swaks to mx" "$MAIL"/alice/new/*
}

@test "curl: smtp:// with STARTTLS required and AUTH" {
	printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: by curl\r\n\r\nsent by curl\r\n' > "$BATS_TEST_TMPDIR/m"
	run curl -sS --url "smtp://127.0.0.1:$SUB" --ssl-reqd -k --user alice@example.test:pw-alice \
		--mail-from alice@example.test --mail-rcpt bob@example.test -T "$BATS_TEST_TMPDIR/m"
	assert_success
	wait_for_mail bob 1
	grep -l "sent by curl" "$MAIL"/bob/new/*
}

send_via() { # send_via PORT SUBJECT: one plain message to alice through PORT
	swaks --server 127.0.0.1:$1 --from carol@elsewhere.test --to alice@example.test --header "Subject: $2"
}

@test "systemd-socket-activate: --inetd (Accept=yes on stdin), fd 3 (Accept=yes), LISTEN_FDS (Accept=no)" {
	P1=$(free_port) P2=$(free_port) P3=$(free_port)
	daemon systemd-socket-activate -l 127.0.0.1:$P1 -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG --inetd -a "$BUILD/tools/mail-smtpd"
	daemon systemd-socket-activate -l 127.0.0.1:$P2 -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG -a "$BUILD/tools/mail-smtpd"
	daemon systemd-socket-activate -l 127.0.0.1:$P3 -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG "$BUILD/tools/mail-smtpd"
	wait_port $P1 && wait_port $P2 && wait_port $P3
	run send_via $P1 inetd-mode
	assert_success
	run send_via $P2 accept-fd3
	assert_success
	run send_via $P3 listen-fds
	assert_success
	run send_via $P3 listen-fds-again
	assert_success
	wait_for_mail alice 4
	for s in inetd-mode accept-fd3 listen-fds listen-fds-again; do grep -l "Subject: $s" "$MAIL"/alice/new/*; done
}

@test "--listen: a cap on connections per client address" {
	printf 'smtpd.max_per_ip = 2\n' >> "$FACTEUR_CONFIG"
	P=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$P
	wait_port $P
	run python3 - $P <<-'EOF2'
	import socket, sys, time
	port = int(sys.argv[1])
	held = []
	for i in range(2):
	    s = socket.create_connection(("127.0.0.1", port)); held.append(s)
	    assert s.recv(100).startswith(b"220"), i
	time.sleep(0.3)
	s = socket.create_connection(("127.0.0.1", port))
	print(s.recv(100).decode())
	EOF2
	assert_success
	assert_output --partial "421 4.7.0"
}

@test "--listen: a process serves smtpd.max_use connections in turn; one killed mid-session is replaced" {
	printf 'smtpd.max_use = 3\n' >> "$FACTEUR_CONFIG"
	P=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$P
	wait_port $P
	run python3 - $P <<-'EOF2'
	import os, re, signal, socket, sys, time
	port = int(sys.argv[1])
	def send(i, quit=True):
	    s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
	    def say(line):
	        s.sendall(line.encode() + b"\r\n"); return f.readline().decode()
	    assert f.readline().startswith(b"220")
	    say("HELO c"); say("MAIL FROM:<a@elsewhere.test>"); say("RCPT TO:<alice@example.test>"); say("DATA")
	    reply = say(f"Subject: {i}\r\n\r\nx\r\n.")
	    assert reply.startswith("250"), reply
	    if quit: say("QUIT"); time.sleep(0.2)  # the process is idle again
	    return int(re.search(r"\.P(\d+)Q", reply).group(1)), s
	pids = [send(i)[0] for i in range(9)]
	print(pids)
	# wait_port's probe was the first process's first connection.
	runs = [pids[:2], pids[2:5], pids[5:8], pids[8:]]
	assert all(len(set(r)) == 1 for r in runs) and len(set(pids)) == 4, pids
	pid, held = send(9, quit=False)
	os.kill(pid, signal.SIGKILL)
	assert held.recv(100) == b""
	assert send(10)[0] != pid
	EOF2
	echo "$output"
	assert_success
}

# greet_dialogue FILE implicit|"" smtp|pop3|imap: a minimal session, TLS first when implicit
greet_dialogue() {
	{
		[ "$3" != smtp ] && echo "@protocol $3"
		[ "$2" = implicit ] && echo starttls
		case $3 in
		pop3) printf '< +OK\n> CAPA\n< +OK\n<<\n> QUIT\n< +OK\n' ;;
		imap) printf '< * OK\n> a CAPABILITY\n<~ a OK\n> b LOGOUT\n< * BYE\n< b OK\n' ;;
		*) printf '< 220\n> EHLO c\n< 250\n> QUIT\n< 221\n' ;;
		esac
	} > "$1"
}

@test "dist: the systemd units' ExecStart lines serve SMTP, POP3 and IMAP under socket activation" {
	for unit in "$BATS_TEST_DIRNAME"/../../dist/*@.service; do
		cmd=$(sed -n 's/^ExecStart=//p' "$unit" | sed "s|/usr/bin/|$BUILD/tools/|")
		grep -q '^StandardInput=socket' "$unit"
		sock="${unit%@.service}.socket"
		grep -q '^Accept=yes' "$sock"
		P=$(free_port)
		daemon systemd-socket-activate -l 127.0.0.1:$P -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG --inetd -a $cmd
		wait_port $P
		run python3 - $P "$([[ $cmd == *implicit* ]] && echo tls)" <<-'EOF2'
		import socket, ssl, sys
		s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
		if sys.argv[2] == "tls":
		    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
		    s = ctx.wrap_socket(s)
		print(s.recv(200).decode())
		EOF2
		assert_output --regexp "^(220 2.0.0|\+OK|\* OK \[CAPABILITY)"
	done
}

@test "dist: every inetd.conf line runs a working server on stdin/stdout" {
	grep -v '^#' "$BATS_TEST_DIRNAME/../../dist/inetd.conf" | grep . | while read -r svc type proto wait user path argv0 args; do
		greet_dialogue "$BATS_TEST_TMPDIR/d.txt" "$([[ $args == *implicit* ]] && echo implicit)" \
			"$(case $path in *pop3d*) echo pop3 ;; *imapd*) echo imap ;; *) echo smtp ;; esac)"
		# shellcheck disable=SC2086
		echo "@args $args" | cat - "$BATS_TEST_TMPDIR/d.txt" > "$BATS_TEST_TMPDIR/e.txt"
		python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "${path/\/usr\/bin/$BUILD/tools}" "$BATS_TEST_TMPDIR/e.txt"
	done
}

@test "dist: every unit runs as a user, mail-smtpd as its own, and scores 2.0 or below in systemd-analyze security" {
	for unit in "$BATS_TEST_DIRNAME"/../../dist/*.service; do
		grep -q '^User=facteur' "$unit"
		grep -q '^UMask=0077' "$unit"
		grep -q '^ReadWritePaths=/var/lib/facteur' "$unit"
		if grep -q mail-smtpd "$unit"; then grep -q '^User=facteur-smtpd$' "$unit"; fi
		score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
		echo "$(basename "$unit") $score"
		[ -n "$score" ]
		awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
	done
	grep -q '^smtp .* facteur-smtpd:facteur /usr/bin/mail-smtpd' "$BATS_TEST_DIRNAME/../../dist/inetd.conf"
}

@test "dist: mail-smtpd-pool (Accept=no): one listening server passed by systemd serves connection after connection" {
	unit="$BATS_TEST_DIRNAME/../../dist/mail-smtpd-pool.service"
	grep -q '^Accept=no' "${unit%.service}.socket"
	! grep -q '^StandardInput=socket' "$unit"
	cmd=$(sed -n 's/^ExecStart=//p' "$unit" | sed "s|/usr/bin/|$BUILD/tools/|")
	P=$(free_port)
	daemon systemd-socket-activate -l 127.0.0.1:$P -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG $cmd
	wait_port $P
	run python3 - $P <<-'EOF2'
	import smtplib, sys
	for i in range(3):
	    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
	    s.sendmail("a@elsewhere.example", ["alice@example.test"], f"Subject: pool {i}\n\nhello\n")
	    s.quit()
	print("sent")
	EOF2
	assert_success
	wait_for_mail alice 3
	[ "$(grep -l "Subject: pool" "$MAIL"/alice/new/* | wc -l)" -eq 3 ]
}
