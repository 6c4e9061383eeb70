#!/usr/bin/env bats
# The MX's defences against the tests' DNS server
# (tests/peers/dns_server.py): DNS blocklists (RFC 5782: the client
# 127.0.0.1, and ::1, listed or not, the error answers that are never a
# listing, score-only lists, the allow-list) and greylisting (the clock set
# with FACTEUR_NOW, no sleeping).

load helper

setup() {
	setup_state
	ZONE="$BATS_TEST_TMPDIR/zone.json"
	nibbles="1$(printf '.0%.0s' $(seq 31))" # ::1 reversed
	cat > "$ZONE" <<-EOF
	{"1.0.0.127.bl.test": {"A": ["127.0.0.2"], "TXT": ["listed for testing, see https://bl.test/"]},
	 "$nibbles.bl.test": {"A": ["127.0.0.4"]},
	 "1.0.0.127.refusing.test": {"A": ["127.255.255.254"]},
	 "1.0.0.127.score.test": {"A": ["127.0.0.3"]},
	 "good.test": {"TXT": ["v=spf1 ip4:127.0.0.1 -all"]}}
	EOF
	DNS=$(free_port)
	daemon /usr/bin/python3 "$BATS_TEST_DIRNAME/../peers/dns_server.py" "$DNS" "$ZONE"
	wait_port "$DNS"
	sed -i '/^checks\./d' "$FACTEUR_CONFIG"
	printf 'checks.dns_servers = "127.0.0.1:%s"\nchecks.dns_timeout = 1\n' "$DNS" >> "$FACTEUR_CONFIG"
}
teardown() { stop_daemons; }

# serve CONFIG-LINES: a new mail-smtpd (MX) on 127.0.0.1 and ::1, $MX its port
serve() {
	printf '%s\n' "$1" > "$BATS_TEST_TMPDIR/extra.toml"
	cat "$FACTEUR_CONFIG" "$BATS_TEST_TMPDIR/extra.toml" > "$BATS_TEST_TMPDIR/run.toml"
	MX=$(free_port)
	FACTEUR_CONFIG="$BATS_TEST_TMPDIR/run.toml" daemon mail-smtpd --listen "127.0.0.1:$MX" --listen "[::1]:$MX"
	SMTPD=$!
	wait_port "$MX"
}

# rcpts HOST SENDER RCPT...: the reply to each RCPT, then to the message if any was accepted
rcpts() {
	python3 - "$MX" "$@" <<-'EOF'
	import smtplib, sys
	port, host, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
	s = smtplib.SMTP(host, port)
	s.ehlo("client.test")
	s.mail(sender)
	ok = False
	for r in rcpts:
	    code, text = s.rcpt(r)
	    print(code, text.decode())
	    ok |= code == 250
	if ok:
	    code, text = s.data(b"From: x@elsewhere.test\r\nSubject: hi\r\n\r\nhello\r\n")
	    print(code, text.decode().split(":")[0])
	s.quit()
	EOF
}

@test "a listed client gets 554 5.7.1 with the list's reason at RCPT, postmaster@ still reached; over IPv6 too" {
	mail-admin alias add postmaster@example.test alice@example.test
	serve '[dnsbl]
zones = ["bl.test"]'
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test postmaster@example.test
	assert_success
	assert_line --index 0 "554 5.7.1 service unavailable; client [127.0.0.1] blocked using bl.test; listed for testing, see https://bl.test/"
	assert_line --index 1 "250 2.1.5 recipient OK"
	assert_line --index 2 --regexp "^250 "
	grep -q "smtpd.dnsbl: 127.0.0.1 listed in bl.test (127.0.0.2: listed for testing, see https://bl.test/), refused" "$BATS_TEST_TMPDIR/daemon.log"
	run rcpts ::1 carol@elsewhere.test alice@example.test
	assert_output "554 5.7.1 service unavailable; client [::1] blocked using bl.test"
}

@test "not listed, listed with an answer the zone does not count, or the error answer 127.255.255.254: accepted, the error logged loudly" {
	serve '[dnsbl]
zones = ["notlisting.test", "bl.test=127.0.0.10-127.0.0.11", "refusing.test"]'
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_success
	assert_line --index 0 "250 2.1.5 recipient OK"
	assert_line --index 1 --regexp "^250 "
	grep -q "smtpd.dnsbl: 127.0.0.1 refusing.test answered 127.255.255.254: the list refuses our queries (a public resolver, or too many), not a listing" "$BATS_TEST_TMPDIR/daemon.log"
	! grep -q "listed in" "$BATS_TEST_TMPDIR/daemon.log"
}

@test "a score-only list adds a header line and refuses nothing; the allow-list (networks, domains whose SPF passes) lets a listed client in" {
	serve '[dnsbl]
score_zones = ["score.test"]'
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_line --index 1 --regexp "^250 "
	grep -q "^X-Facteur-DNSBL: score.test 127.0.0.3$" "$MAIL"/alice/new/*
	serve '[dnsbl]
zones = ["bl.test"]
allow = ["10.0.0.0/8", "good.test"]'
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_line --index 0 --partial "554 5.7.1"
	run rcpts 127.0.0.1 news@good.test alice@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	grep -q "smtpd.dnsbl: 127.0.0.1 listed in bl.test .*, allowed" "$BATS_TEST_TMPDIR/daemon.log"
	serve '[dnsbl]
zones = ["bl.test"]
allow = ["127.0.0.0/8"]'
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
}

@test "a zone written wrong is a configuration error (78) naming the key" {
	printf '[dnsbl]\nzones = ["bl.test=127.0.0.2-127.0.0.1"]\n' >> "$FACTEUR_CONFIG"
	run mail-smtpd --listen 127.0.0.1:1
	assert_failure 78
	assert_output --partial "dnsbl.zones: 'bl.test=127.0.0.2-127.0.0.1': '127.0.0.2-127.0.0.1' is not an address or range"
}

# serve_at SECONDS CONFIG-LINES: serve instead of the last one, its clock
# stopped SECONDS after the test's start (FACTEUR_NOW)
serve_at() {
	if [ -n "${SMTPD:-}" ]; then kill "$SMTPD"; fi
	T0=${T0:-$(date +%s)}
	FACTEUR_NOW="$((T0 + $1))" serve "$2"
}

@test "greylisting: the first attempt is 451 4.7.1, a retry after the delay passes, the client network is trusted after N; skipped when SPF passes under DMARC p=reject, and for allowed senders" {
	grey='[greylist]
enabled = true
trust_after = 2
allow = ["friend@elsewhere.test"]'
	serve_at 0 "$grey"
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_output "451 4.7.1 greylisted: please try again in 300 seconds"
	serve_at 100 "$grey"
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test
	assert_output "451 4.7.1 greylisted: please try again in 200 seconds"
	serve_at 301 "$grey"
	run rcpts 127.0.0.1 carol@elsewhere.test alice@example.test bob@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	assert_line --index 1 "451 4.7.1 greylisted: please try again in 300 seconds"
	assert_line --index 2 --regexp "^250 "
	serve_at 700 "$grey"
	run rcpts 127.0.0.1 carol@elsewhere.test bob@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	# Two triplets passed: the network is trusted, a new triplet passes at once.
	run rcpts 127.0.0.1 dave@elsewhere.test alice@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	grep -q "smtpd.greylist: 127.0.0.1 <dave@elsewhere.test> -> <alice@example.test>: pass (trusted client network)" "$BATS_TEST_TMPDIR/daemon.log"
	# A fresh store: an allowed sender, and SPF pass for a p=reject domain, pass at once.
	rm -f "$FACTEUR_STATE_DIR"/policy/greylist.sqlite*
	python3 -c 'import json,sys; z=json.load(open(sys.argv[1])); z["_dmarc.good.test"]={"TXT":["v=DMARC1; p=reject"]}; json.dump(z, open(sys.argv[1],"w"))' "$ZONE"
	serve_at 0 "$grey"
	run rcpts 127.0.0.1 friend@elsewhere.test alice@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	run rcpts 127.0.0.1 news@good.test alice@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	run rcpts 127.0.0.1 someone@elsewhere.test alice@example.test
	assert_output "451 4.7.1 greylisted: please try again in 300 seconds"
}

@test "rate limits: connections per minute (421), messages and recipients per hour (451), unknown recipients (421 and closed), an authenticated user's messages per hour" {
	serve_at 0 '[ratelimit]
enabled = true
connections = [5, 0, 0]
messages = [3, 100, 0]
recipients = [3, 0, 0]
failed_rcpts = 2
user_messages = 1'
	run rcpts 127.0.0.1 a@elsewhere.test alice@example.test bob@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	assert_line --index 1 "250 2.1.5 recipient OK"
	run rcpts 127.0.0.1 a@elsewhere.test alice@example.test bob@example.test
	assert_line --index 0 "250 2.1.5 recipient OK"
	assert_line --index 1 "451 4.7.1 too many recipients in the last hour, try again later"
	# Unknown recipients: the third RCPT after two closes the connection.
	probe() {
		python3 - "$MX" <<-'EOF2'
		import smtplib, sys
		s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
		s.ehlo("client.test")
		code, text = s.mail("a@elsewhere.test")
		print(code, text.decode())
		if code == 250:
		    for r in ["nobody@example.test", "nobody2@example.test", "alice@example.test"]:
		        try:
		            code, text = s.rcpt(r)
		            print(code, text.decode())
		        except smtplib.SMTPServerDisconnected:
		            print("disconnected")
		            break
		EOF2
	}
	run probe
	assert_line --index 0 "250 2.1.0 sender OK"
	assert_line --index 1 --partial "550 5.1.1"
	assert_line --index 2 --partial "550 5.1.1"
	assert_line --index 3 "421 4.7.0 too many unknown recipients, closing connection"
	# The fourth message of the hour.
	run probe
	assert_line --index 0 "451 4.7.1 too many messages in the last hour, try again later"
	# The sixth connection of the minute.
	run python3 -c 'import smtplib, sys
try:
    smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
except smtplib.SMTPConnectError as e:
    print(e.smtp_code, e.smtp_error.decode())' "$MX"
	assert_output "421 4.7.0 too many connections from your network, try again later"
	grep -q "smtpd.ratelimit: 127.0.0.1: over the limit of conn 127.0.0.1/32 per 60 s" "$BATS_TEST_TMPDIR/daemon.log"
	# A new hour: an authenticated user has a limit of its own.
	SUB=$(free_port)
	FACTEUR_NOW="$((T0 + 3600))" FACTEUR_CONFIG="$BATS_TEST_TMPDIR/run.toml" daemon mail-smtpd --role submission --listen "127.0.0.1:$SUB"
	wait_port "$SUB"
	run python3 - "$SUB" <<-'EOF2'
	import smtplib, ssl, sys
	s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
	s.starttls(context=ssl._create_unverified_context())
	s.login("alice@example.test", "pw-alice")
	for i in range(2):
	    code, text = s.mail("alice@example.test")
	    print(code, text.decode())
	    s.rset()
	EOF2
	assert_line --index 0 "250 2.1.0 sender OK"
	assert_line --index 1 "451 4.7.1 too many messages in the last hour, try again later"
}
