#!/usr/bin/env bats
# Outbound delivery: DNS (dnsmasq on loopback), remote servers (smtp-sink,
# a raw recorder, a second facteur installation), retries, bounces, delay
# warnings, DKIM verified with python3-dkim, a smart host, kill -9.

load helper

setup() {
	setup_smtp
	read -r PORT SUB DNS_PORT BLACKHOLE < <(free_ports 4)
	SINKS="$BATS_TEST_TMPDIR/sinks"
	mkdir -p "$SINKS"
	chmod 777 "$SINKS"
	write_config
	start_dns
}
teardown() { stop_daemons; }

# free_ports N: N distinct ports free for both TCP and UDP on 127.0.0.1
# (dnsmasq takes both; separate calls could return the same port twice).
free_ports() {
	python3 - "$1" <<-'EOF'
	import socket, sys
	held, ports = [], []
	while len(ports) < int(sys.argv[1]):
	    t = socket.socket()
	    t.bind(("127.0.0.1", 0))
	    port = t.getsockname()[1]
	    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    try:
	        u.bind(("127.0.0.1", port))
	    except OSError:
	        continue
	    held += [t, u]
	    ports.append(port)
	print(*ports)
	EOF
}

# write_config [EXTRA-LINES]: installation A (example.test) sends through
# the test DNS to port $PORT of the remote hosts.
write_config() {
	printf 'hostname = "mx.example.test"\noutbound.dns_servers = "127.0.0.1:%s"\noutbound.dns_timeout = 1\noutbound.port = %s\n%s\n' \
		"$DNS_PORT" "$PORT" "${1:-}" > "$FACTEUR_CONFIG"
}

start_dns() {
	cat > "$BATS_TEST_TMPDIR/dns.conf" <<-EOF
	no-resolv
	no-hosts
	local=/test/
	mx-host=example.test,mx.example.test,10
	host-record=mx.example.test,127.0.0.2
	mx-host=b.test,mx.b.test,10
	host-record=mx.b.test,127.0.0.3
	host-record=amx.test,127.0.0.4
	mx-host=temp.test,mx.temp.test,10
	host-record=mx.temp.test,127.0.0.5
	mx-host=perm.test,mx.perm.test,10
	host-record=mx.perm.test,127.0.0.6
	mx-host=down.test,mx.down.test,10
	host-record=mx.down.test,127.0.0.7
	mx-host=drop.test,mx.drop.test,10
	host-record=mx.drop.test,127.0.0.8
	mx-host=c.test,mx.c.test,10
	host-record=mx.c.test,127.0.0.9
	dns-rr=null.test,15,000000
	mx-host=multi.test,mx1.multi.test,10
	mx-host=multi.test,mx2.multi.test,20
	host-record=mx1.multi.test,127.0.0.10
	host-record=mx2.multi.test,127.0.0.11
	server=/slow.test/127.0.0.1#$BLACKHOLE
	EOF
	# slow.test's server never answers
	daemon python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(3600)' "$BLACKHOLE"
	daemon dnsmasq --keep-in-foreground --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
		--conf-file="$BATS_TEST_TMPDIR/dns.conf" --pid-file= --user=nobody
	/usr/bin/python3 - "$DNS_PORT" <<-'EOF' || { cat "$BATS_TEST_TMPDIR/daemon.log"; return 1; }
	import sys, time, dns.resolver
	r = dns.resolver.Resolver(configure=False)
	r.nameservers, r.port, r.lifetime = ["127.0.0.1"], int(sys.argv[1]), 0.5
	for _ in range(50):
	    try:
	        r.resolve("b.test", "MX")
	        sys.exit(0)
	    except Exception:
	        time.sleep(0.1)
	sys.exit("dnsmasq did not start")
	EOF
}

# sink IP NAME [smtp-sink options]: smtp-sink on IP:$PORT, dumping each
# message into $SINKS/NAME/.
sink() {
	local ip=$1 name=$2
	shift 2
	mkdir -p "$SINKS/$name"
	chmod 777 "$SINKS/$name"
	daemon smtp-sink -u root -d "$SINKS/$name/%M." "$@" "$ip:$PORT" 100
	wait_port "$PORT" "$ip"
}

# send RCPT... (message on stdin): alice (or $AS, "user:password")
# submits it (AUTH on loopback).
send() {
	local as=${AS:-alice@example.test:pw-alice}
	{
		printf '@args --role submission\n< 220\n> EHLO c\n< 250\n'
		printf '> AUTH PLAIN %s\n< 235\n' "$(printf '\0%s\0%s' "${as%%:*}" "${as#*:}" | base64)"
		printf '> MAIL FROM:<%s>%s\n< 250\n' "${as%%:*}" "${MAILPARAMS:-}"
		for r in "$@"; do printf '> RCPT TO:<%s>\n< 250\n' "$r"; done
		printf '> DATA\n< 354\n>raw '
		sed 's/^\./../; s/$/\\r\\n/' | tr -d '\n'
		printf '.\\r\\n\n< 250 2.0.0\n'
	} > "$BATS_TEST_TMPDIR/send.txt"
	python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-smtpd" "$BATS_TEST_TMPDIR/send.txt"
}

message() { printf 'From: Alice <alice@example.test>\nTo: someone@b.test\nSubject: %s\n\n.a line with a dot\n..two dots\nend of %s\n' "$1" "$1"; }

# state ADDRESS: "status attempts dsn last_result" of a queued recipient
state() {
	mail-queue list --json | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    for r in e["recipients"]:
        if r["address"] == sys.argv[1]:
            print(r["status"], r["attempts"], r["dsn"], r["last_result"])' "$1"
}

# body_of FILE: the message part of a queue file (after the envelope)
body_of() { python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d[d.index(b"\n\n")+2:])' "$1"; }

@test "end to end: alice@example.test and bob@b.test, two installations, through DNS, STARTTLS and DKIM (RSA and Ed25519)" {
	mail-admin dkim generate example.test >/dev/null
	mail-admin dkim generate example.test --selector ed --algorithm ed25519-sha256 >/dev/null
	mail-admin --json dkim show example.test > "$BATS_TEST_TMPDIR/records.json"
	# installation A (example.test) receives on 127.0.0.2
	daemon mail-smtpd --role mx --tls starttls --listen "127.0.0.2:$PORT"
	daemon mail-queue run
	# installation B (b.test) on 127.0.0.3
	B="$BATS_TEST_TMPDIR/b"
	printf 'hostname = "mx.b.test"\nstate_dir = "%s"\noutbound.dns_servers = "127.0.0.1:%s"\noutbound.port = %s\n' \
		"$B" "$DNS_PORT" "$PORT" > "$BATS_TEST_TMPDIR/b.toml"
	(
		export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/b.toml" FACTEUR_STATE_DIR="$B"
		mail-admin init >/dev/null
		mail-admin domain add b.test
		echo pw-bob | mail-admin mailbox add bob@b.test --password-stdin
		daemon mail-smtpd --role mx --tls starttls --listen "127.0.0.3:$PORT"
		daemon mail-queue run
	)
	wait_port "$PORT" 127.0.0.2
	wait_port "$PORT" 127.0.0.3
	message "Re: Re:  hello" | send bob@b.test # colons and spaces inside a value: relaxed canonicalization keeps them
	for _ in $(seq 100); do
		[ "$(count_files "$B/mail/b.test/bob/new")" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(count_files "$B/mail/b.test/bob/new")" -eq 1 ]
	[ "$(queued_files | wc -l)" -eq 0 ]
	grep -q "queue.sent: .* relay=mx.b.test\[127.0.0.3\] tls=TLSv1.3" "$BATS_TEST_TMPDIR/daemon.log"
	f=$(find "$B/mail/b.test/bob/new" -type f)
	grep -q "^Received: from mx.example.test (.*\[127.0.0.1\])" "$f"
	grep -q "with ESMTPS id" "$f"
	grep -q "^\.a line with a dot" "$f"
	grep -q "^\.\.two dots" "$f"
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/dkim_verify.py" "$f" "$BATS_TEST_TMPDIR/records.json"
	assert_success
	assert_line "signature 0: pass"
	assert_line "signature 1: pass"
	grep -q "a=ed25519-sha256" "$f"
	grep -q "a=rsa-sha256" "$f"
	# an altered body no longer verifies
	sed -i 's/^end of /end of an altered /' "$f"
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/dkim_verify.py" "$f" "$BATS_TEST_TMPDIR/records.json"
	assert_failure
	# and bob answers: B finds example.test's MX (127.0.0.2) and A delivers to alice
	printf 'From: bob@b.test\nTo: alice@example.test\nSubject: re: hello\n\nthanks\n' |
		FACTEUR_CONFIG="$BATS_TEST_TMPDIR/b.toml" FACTEUR_STATE_DIR="$B" AS=bob@b.test:pw-bob send alice@example.test
	for _ in $(seq 100); do
		[ "$(count_files "$MAIL/alice/new")" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(count_files "$MAIL/alice/new")" -eq 1 ]
	grep -q "^Subject: re: hello" "$MAIL"/alice/new/*
	grep -q "^Received: from mx.b.test (.*\[127.0.0.1\]).*" "$MAIL"/alice/new/*
}

@test "on the wire: CRLF line ends only, leading dots doubled, then exactly the message (smtp-sink -d)" {
	daemon python3 "$BATS_TEST_DIRNAME/raw_sink.py" 127.0.0.3 "$PORT" "$BATS_TEST_TMPDIR/wire"
	wait_port "$PORT" 127.0.0.3
	message dots | send bob@b.test
	q=$(queued_files)
	body_of "$q" > "$BATS_TEST_TMPDIR/queued"
	run mail-queue run --once
	assert_success
	python3 - "$BATS_TEST_TMPDIR/queued" "$BATS_TEST_TMPDIR/wire" <<-'EOF'
	import sys
	queued, wire = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
	assert b"\n" not in wire.replace(b"\r\n", b""), "bare LF on the wire"
	assert b"\r" not in wire.replace(b"\r\n", b""), "bare CR on the wire"
	lines = queued.decode().split("\n")[:-1]
	expect = "".join(("." + l if l.startswith(".") else l) + "\r\n" for l in lines) + ".\r\n"
	assert wire.decode() == expect, (wire, expect)
	assert b"\r\n..a line with a dot\r\n...two dots\r\n" in wire
	EOF
	# smtp-sink undoes the stuffing: it stores exactly the queued message
	sink 127.0.0.4 amx
	message exact | send x@amx.test
	body_of "$(queued_files)" > "$BATS_TEST_TMPDIR/queued"
	run mail-queue run --once
	assert_success
	f=$(find "$SINKS/amx" -type f)
	python3 - "$BATS_TEST_TMPDIR/queued" "$f" <<-'EOF'
	import sys
	queued, dump = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
	# the dump: smtp-sink's own header lines, its 3-line Received, the message, an empty line
	lines = dump.split(b"\n")
	i = next(k for k, l in enumerate(lines) if l.startswith(b"Received: from"))
	assert b"\n".join(lines[i + 3:]) == queued + b"\n", (dump, queued)
	EOF
}

@test "per recipient: 2xx done, 5xx bounced, 4xx retried with the remote reply; null MX; no MX uses the A record" {
	sink 127.0.0.4 amx
	sink 127.0.0.5 temp -r RCPT
	sink 127.0.0.6 perm -f RCPT
	message mixed | send a@amx.test t@temp.test p@perm.test n@null.test
	run mail-queue run --once
	echo "$output"
	assert_success
	[ "$(count_files "$SINKS/amx")" -eq 1 ]
	run state t@temp.test
	assert_output "pending 1 4.3.0 mx.temp.test[127.0.0.5] said: 450 4.3.0 Error: command failed"
	run mail-queue list
	assert_output --partial "<t@temp.test> pending, 1 attempts, next"
	assert_output --partial "<a@amx.test> delivered"
	assert_output --partial "<p@perm.test> failed"
	# the bounces (one per destination) reach alice at the next run
	run mail-queue run --once
	[ "$(grep -l "^Subject: Undelivered Mail" "$MAIL"/alice/new/* | wc -l)" -eq 2 ]
	f=$(grep -l "^Final-Recipient: rfc822; p@perm.test" "$MAIL"/alice/new/*)
	grep -q "^Diagnostic-Code: smtp; 500 5.3.0 Error: command failed" "$f"
	grep -q "^Status: 5.3.0" "$f"
	f=$(grep -l "^Final-Recipient: rfc822; n@null.test" "$MAIL"/alice/new/*)
	grep -q "^Status: 5.1.10" "$f"
	! grep -q "^Final-Recipient: rfc822; t@temp.test" "$MAIL"/alice/new/*
	[ "$(state t@temp.test | cut -d' ' -f1)" = pending ]
}

@test "MX preference: the best host that answers; a host down is skipped" {
	sink 127.0.0.11 second
	message fallback | send x@multi.test
	run mail-queue run --once
	assert_success
	assert_output --partial "relay=mx2.multi.test[127.0.0.11]"
	[ "$(count_files "$SINKS/second")" -eq 1 ]
	# with the preferred host up, it gets the mail
	sink 127.0.0.10 first
	message preferred | send y@multi.test
	run mail-queue run --once
	assert_output --partial "relay=mx1.multi.test[127.0.0.10]"
	[ "$(count_files "$SINKS/first")" -eq 1 ]
	[ "$(count_files "$SINKS/second")" -eq 1 ]
}

@test "no 8BITMIME: 8-bit bodies converted to 7 bits (then DKIM-signed); 8-bit headers bounce 5.6.3; no SMTPUTF8: 5.6.7" {
	mail-admin dkim generate example.test >/dev/null
	mail-admin --json dkim show example.test > "$BATS_TEST_TMPDIR/records.json"
	sink 127.0.0.4 amx -8
	printf 'From: alice@example.test\nSubject: plain\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nd\xc3\xa9j\xc3\xa0 vu\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\xc3\xbf\xc3\xbe\n--b--\n' |
		MAILPARAMS=" BODY=8BITMIME" send x@amx.test
	run mail-queue run --once
	assert_success
	[ "$(count_files "$SINKS/amx")" -eq 1 ]
	f=$(find "$SINKS/amx" -type f)
	! LC_ALL=C grep -q '[^ -~	]' "$f"
	grep -q "^Content-Transfer-Encoding: quoted-printable" "$f"
	grep -q "^d=C3=A9j=C3=A0 vu" "$f"
	grep -q "^Content-Transfer-Encoding: base64" "$f"
	grep -q "^X-Mail-Args: <alice@example.test>$" "$f" # no BODY=8BITMIME to a server without it
	# the signature covers the converted message
	lines=$(grep -n "^Received: from" "$f" | head -n 1 | cut -d: -f1)
	tail -n +$((lines + 3)) "$f" | head -n -1 > "$BATS_TEST_TMPDIR/msg"
	run /usr/bin/python3 "$BATS_TEST_DIRNAME/dkim_verify.py" "$BATS_TEST_TMPDIR/msg" "$BATS_TEST_TMPDIR/records.json"
	assert_success
	python3 - "$BATS_TEST_TMPDIR/msg" <<-'EOF'
	import sys, email, email.policy
	m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
	parts = list(m.iter_parts())
	assert parts[0].get_content().rstrip("\n") == "d\u00e9j\u00e0 vu", repr(parts[0].get_content())
	assert parts[1].get_payload(decode=True) == b"\xc3\xbf\xc3\xbe", parts[1].get_payload(decode=True)
	EOF
	# 8-bit in a header cannot be converted; a UTF-8 address needs SMTPUTF8
	printf 'From: alice@example.test\nSubject: caf\xc3\xa9\n\nd\xc3\xa9j\xc3\xa0 vu\n' | MAILPARAMS=" BODY=8BITMIME" send y@amx.test
	printf 'From: alice@example.test\nSubject: plain\n\nascii\n' | MAILPARAMS=" SMTPUTF8" send $'j\xc3\xb6rg@amx.test'
	run mail-queue run --once
	assert_success
	[ "$(count_files "$SINKS/amx")" -eq 1 ]
	mail-queue run --once
	cat "$MAIL"/alice/new/* > "$BATS_TEST_TMPDIR/bounces"
	grep -q "^Status: 5.6.3" "$BATS_TEST_TMPDIR/bounces"
	grep -q "^Status: 5.6.7" "$BATS_TEST_TMPDIR/bounces"
	grep -q "8-bit header fields that cannot be converted" "$BATS_TEST_TMPDIR/bounces"
}

@test "a failed STARTTLS handshake falls back to plain text, unless outbound.plaintext_fallback = false" {
	daemon python3 "$BATS_TEST_DIRNAME/raw_sink.py" 127.0.0.3 "$PORT" "$BATS_TEST_TMPDIR/wire" --broken-tls
	wait_port "$PORT" 127.0.0.3
	write_config "outbound.plaintext_fallback = false"
	message strict | send bob@b.test
	run mail-queue run --once
	run state bob@b.test
	assert_output --regexp "^pending 1 4\.4\.1 mx\.b\.test\[127\.0\.0\.3\]: TLS handshake failed"
	[ ! -e "$BATS_TEST_TMPDIR/wire" ]
	write_config
	mail-queue flush
	run mail-queue run --once
	assert_success
	[ "$(queued_files | wc -l)" -eq 0 ]
	grep -q "^Subject: strict" "$BATS_TEST_TMPDIR/wire"
}

@test "several messages to one destination share one connection" {
	sink 127.0.0.3 b
	for i in 1 2 3 4 5; do message "same$i" | send "r$i@b.test"; done
	run mail-queue run --once
	assert_success
	[ "$(count_files "$SINKS/b")" -eq 5 ]
	# one delivery process (one connection) sent all five
	[ "$(grep "queue.sent:" <<<"$output" | sed 's/.*mail-queue\[\([0-9]*\)\].*/\1/' | sort -u | wc -l)" -eq 1 ]
	[ "$(grep -c "queue.sent:" <<<"$output")" -eq 5 ]
}

@test "a server that drops the connection in or after the data keeps the message queued; it goes at the next try" {
	daemon python3 "$BATS_TEST_DIRNAME/raw_sink.py" 127.0.0.8 "$PORT" "$BATS_TEST_TMPDIR/wire" --drop-in-data
	wait_port "$PORT" 127.0.0.8
	message dropped | send x@drop.test
	run mail-queue run --once
	assert_success
	run state x@drop.test
	assert_output --regexp "^pending 1 4\.4\.2 mx.drop.test\[127.0.0.8\] said: connection lost"
	stop_daemons
	start_dns
	sink 127.0.0.8 drop -q .
	mail-queue flush
	run mail-queue run --once
	assert_success
	run state x@drop.test
	assert_output --regexp "^pending 2 4\.4\.2 "
	stop_daemons
	start_dns
	sink 127.0.0.8 drop2
	mail-queue flush
	run mail-queue run --once
	assert_success
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(count_files "$SINKS/drop2")" -eq 1 ]
}

@test "a server down and a DNS timeout: retried, a delay warning, then bounced at queue.max_age" {
	write_config "$(printf 'queue.retry_min = "1s"\nqueue.max_age = "7s"\nqueue.delay_warning = "1s"')"
	message late | send x@down.test y@slow.test
	# the clock hook stands for the seconds that pass (no sleep)
	run env FACTEUR_NOW=+2 mail-queue run --once
	echo "$output"
	assert_success
	run state x@down.test
	assert_output --regexp "^delayed 1 4\.4\.1 connection to \[127\.0\.0\.7\]:$PORT failed: Connection refused"
	run state y@slow.test
	assert_output --regexp "^delayed 1 4\.4\.3 DNS lookup for slow.test failed"
	mail-queue flush
	run env FACTEUR_NOW=+8 mail-queue run --once
	assert_success
	run env FACTEUR_NOW=+8 mail-queue run --once
	[ "$(queued_files | wc -l)" -eq 0 ]
	# one warning and one bounce per destination
	[ "$(grep -l "^Subject: Delayed Mail" "$MAIL"/alice/new/* | wc -l)" -eq 2 ]
	[ "$(grep -l "^Subject: Undelivered Mail" "$MAIL"/alice/new/* | wc -l)" -eq 2 ]
	w=$(grep -l "^Subject: Delayed Mail" "$MAIL"/alice/new/* | xargs grep -l "^Final-Recipient: rfc822; x@down.test")
	grep -q "^Action: delayed" "$w"
	grep -q "^Status: 4.4.1" "$w"
	grep -q "^Content-Type: text/rfc822-headers" "$w"
	b=$(grep -l "^Subject: Undelivered Mail" "$MAIL"/alice/new/* | xargs grep -l "^Final-Recipient: rfc822; y@slow.test")
	grep -q "^Action: failed" "$b"
	grep -q "^Status: 5.4.7" "$b"
	grep -q "delivery time expired" "$b"
}

@test "delay warnings can be switched off" {
	write_config "$(printf 'queue.retry_min = "1s"\nqueue.delay_warning = "off"')"
	message late | send x@down.test
	sleep 1.2
	mail-queue run --once
	mail-queue run --once
	run state x@down.test
	assert_output --regexp "^pending 2 "
	[ "$(count_files "$MAIL/alice/new")" -eq 0 ]
}

@test "kill -9 of mail-queue run during remote delivery: nothing lost, at most one copy more per connection" {
	write_config "$(printf 'outbound.max_per_destination = 3\noutbound.messages_per_connection = 4')"
	sink 127.0.0.3 b -W .:1
	for i in $(seq 12); do message "m$i" | send "r$i@b.test"; done
	setsid mail-queue run 2>"$BATS_TEST_TMPDIR/run1.log" &
	pid=$!
	sleep 2.5
	kill -9 -- "-$pid"
	wait "$pid" || true
	[ "$(queued_files | wc -l)" -gt 0 ]
	daemon mail-queue run
	for _ in $(seq 300); do
		[ "$(queued_files | wc -l)" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(queued_files | wc -l)" -eq 0 ]
	total=$(count_files "$SINKS/b")
	distinct=$(cat "$SINKS"/b/* | grep -c "^Subject: m[0-9]*$" || true)
	subjects=$(cat "$SINKS"/b/* | grep "^Subject: m" | sort -u | wc -l)
	echo "total=$total subjects=$subjects"
	[ "$subjects" -eq 12 ]
	[ "$total" -le 15 ]
	[ "$distinct" -eq "$total" ]
}

@test "smart host: everything through one host with STARTTLS (certificate checked) and AUTH" {
	# installation B: the provider's submission server, on mx.b.test (127.0.0.3)
	B="$BATS_TEST_TMPDIR/b"
	printf 'hostname = "mx.b.test"\nstate_dir = "%s"\n' "$B" > "$BATS_TEST_TMPDIR/b.toml"
	(
		export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/b.toml" FACTEUR_STATE_DIR="$B"
		mail-admin init >/dev/null
		mail-admin domain add example.test
		echo relay-pw | mail-admin mailbox add alice@example.test --password-stdin
	)
	FACTEUR_CONFIG="$BATS_TEST_TMPDIR/b.toml" FACTEUR_STATE_DIR="$B" \
		daemon mail-smtpd --role submission --tls starttls --listen "127.0.0.3:$SUB"
	wait_port "$SUB" 127.0.0.3
	echo relay-pw > "$BATS_TEST_TMPDIR/relay-pw"
	write_config "$(printf 'outbound.relay_host = "mx.b.test:%s"\noutbound.relay_ca = "%s"\noutbound.relay_user = "alice@example.test"\noutbound.relay_password_file = "%s"' \
		"$SUB" "$B/tls/cert.pem" "$BATS_TEST_TMPDIR/relay-pw")"
	message relayed | send carol@c.test dave@b.test
	run mail-queue run --once
	assert_success
	assert_output --partial "relay=mx.b.test[127.0.0.3] tls=TLSv1.3"
	[ "$(queued_files | wc -l)" -eq 0 ]
	# B queued it, authenticated as alice over TLS
	f=$(find "$B/queue/mess" -type f)
	grep -q "^client ip=127.0.0.1 helo=mx.example.test tls=TLSv1.3 auth=alice@example.test" "$f"
	grep -q "^rcpt	carol@c.test" "$f"
	grep -q "^rcpt	dave@b.test" "$f"
	# a certificate that does not match: not sent, retried later
	write_config "$(printf 'outbound.relay_host = "mx.b.test:%s"\noutbound.relay_ca = "%s"\noutbound.relay_user = "alice@example.test"\noutbound.relay_password_file = "%s"' \
		"$SUB" "$FACTEUR_STATE_DIR/tls/cert.pem" "$BATS_TEST_TMPDIR/relay-pw")"
	message refused | send carol@c.test
	run mail-queue run --once
	run state carol@c.test
	assert_output --regexp "^pending 1 4\.4\.1 .*TLS handshake failed: self-signed certificate"
}
