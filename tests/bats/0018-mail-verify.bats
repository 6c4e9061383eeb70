#!/usr/bin/env bats
# mail-verify: the checks of inbound mail (SPF so far) against a DNS server
# of the tests' own (tests/peers/dns_server.py, python3-dnslib, on
# loopback), with pyspf (python3-spf) as the oracle and python3-authres
# reading the field.

load helper

setup() {
	export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/facteur.toml"
	printf 'checks.dns_timeout = 1\n' > "$FACTEUR_CONFIG"
	CASES="$BATS_TEST_DIRNAME/spf_cases.json"
	ZONE="$BATS_TEST_TMPDIR/zone.json"
	python3 -c "import json,sys; json.dump(json.load(open(sys.argv[1]))['zone'], open(sys.argv[2], 'w'))" "$CASES" "$ZONE"
	DNS=$(free_port)
	daemon /usr/bin/python3 "$BATS_TEST_DIRNAME/../peers/dns_server.py" "$DNS" "$ZONE"
	wait_port "$DNS"
	printf 'From: someone@pass.example\nSubject: x\n\nbody\n' > "$BATS_TEST_TMPDIR/msg"
}
teardown() { stop_daemons; }

# signed_cases: dkimpy's signed messages in $BATS_TEST_TMPDIR/dk, their keys in the zone
signed_cases() {
	mkdir "$BATS_TEST_TMPDIR/dk"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/dkim_cases.py" "$BATS_TEST_TMPDIR/dk" "$ZONE" > /dev/null
}

# dmarc_record DOMAIN TEXT: publish a DMARC record in the zone
dmarc_record() {
	python3 -c 'import json, sys; z = json.load(open(sys.argv[1])); z["_dmarc." + sys.argv[2]] = {"TXT": [sys.argv[3]]}; json.dump(z, open(sys.argv[1], "w"))' "$ZONE" "$1" "$2"
}

# oracle_agrees DIR MAIL-FROM EXPR: for each "NAME VERDICT" line of
# $BATS_TEST_TMPDIR/expected (what dkimpy decided), mail-verify --json on
# DIR/NAME.eml gives that verdict as EXPR (Python, over the JSON j).
oracle_agrees() {
	while read -r name want; do
		run mail-verify --dns "127.0.0.1:$DNS" --ip 192.0.2.1 --helo h.example --mail-from "$2" --json \
			< "$BATS_TEST_TMPDIR/$1/$name.eml"
		assert_success
		got=$(python3 -c "import json,sys; j = json.load(sys.stdin); print($3)" <<< "$output")
		echo "$name: dkimpy $want, mail-verify $got"
		[ "$got" = "$want" ]
	done < "$BATS_TEST_TMPDIR/expected"
}

verify() { mail-verify --dns "127.0.0.1:$DNS" --authserv-id mx.here.test "$@" < "$BATS_TEST_TMPDIR/msg"; }

@test "SPF: every case (mechanisms, macros, limits, void lookups, errors, IPv6, HELO) as pyspf decides it" {
	run /usr/bin/python3 - "$CASES" "$DNS" "$BATS_TEST_DIRNAME" <<-'EOF'
	import json, subprocess, sys
	cases, port, here = json.load(open(sys.argv[1]))["cases"], sys.argv[2], sys.argv[3]
	bad = 0
	for ip, sender, helo in cases:
	    out = subprocess.run(["mail-verify", "--ip", ip, "--helo", helo, "--mail-from", sender,
	                          "--dns", "127.0.0.1:" + port, "--json"], input=b"Subject: x\n\nx\n",
	                         capture_output=True, check=True).stdout
	    ours = json.loads(out)["spf"]["result"]
	    theirs = subprocess.run(["/usr/bin/python3", here + "/spf_oracle.py", port, ip, sender, helo],
	                            capture_output=True, text=True, check=True).stdout.strip()
	    if ours != theirs:
	        bad += 1
	        print(f"{ip} {sender or '<>'} {helo}: mail-verify {ours}, pyspf {theirs}")
	print(f"{len(cases)} cases, {bad} differ")
	sys.exit(1 if bad else 0)
	EOF
	echo "$output"
	assert_success
	assert_output --partial "41 cases, 0 differ"
}

@test "SPF: the field python3-authres reads, the reason, the explanation of a fail, the null sender" {
	run verify --ip 192.0.2.10 --helo mx.client.example --mail-from someone@pass.example
	assert_success
	assert_output "Authentication-Results: mx.here.test;
	spf=pass (ip4:192.0.2.0/24 matched pass.example) smtp.mailfrom=someone@pass.example;
	dkim=none;
	dmarc=none (no DMARC record for pass.example) header.from=pass.example"
	run /usr/bin/python3 -c '
import sys, authres
f = authres.AuthenticationResultsHeader.parse(sys.stdin.read().replace("\n\t", " ").strip())
for r in f.results:
    print(f.authserv_id, r.method, r.result, " ".join(p.type + "." + p.name + "=" + p.value for p in r.properties))' <<< "$output"
	assert_success
	assert_output "mx.here.test spf pass smtp.mailfrom=someone@pass.example
mx.here.test dkim none 
mx.here.test dmarc none header.from=pass.example"
	run verify --ip 192.0.2.4 --helo mx.client.example --mail-from alice@exists.example --json
	assert_success
	assert_output --partial '"result":"fail"'
	assert_output --partial '"explanation":"192.0.2.4 is not one of exists.example'"'"'s designated mail servers."'
	run verify --ip 192.0.2.6 --helo helo.client.example --mail-from "<>"
	assert_success
	assert_output --partial "spf=fail (-all matched helo.client.example) smtp.helo=helo.client.example"
	# A sender's odd local part is quoted, not pasted into the field.
	run verify --ip 192.0.2.10 --helo mx.client.example --mail-from '"a;b=c"@pass.example'
	assert_success
	assert_output --partial 'smtp.mailfrom="\"a;b=c\""@pass.example'
}

@test "SPF: a DNS server that does not answer is temperror within the time budget, exit 0" {
	python3 - "$ZONE" <<-'EOF'
	import json, sys
	z = json.load(open(sys.argv[1]))
	z["_timeout"] = ["slow.example"]
	z["slowinc.example"] = {"TXT": ["v=spf1 include:slow.example -all"]}
	json.dump(z, open(sys.argv[1], "w"))
	EOF
	SECONDS=0
	run verify --ip 192.0.2.1 --helo mx.client.example --mail-from a@slowinc.example --json
	assert_success
	assert_output --partial '"result":"temperror"'
	[ "$SECONDS" -lt 15 ]
}

@test "mail-verify: usage errors exit 64, a message over the size limit 65, DNS servers given wrong 64" {
	run verify --ip 300.1.1.1 --helo h.example --mail-from a@pass.example
	assert_failure 64
	assert_output --partial "--ip '300.1.1.1' is not an IP address"
	run verify --ip 192.0.2.1 --helo h.example --mail-from "not an address"
	assert_failure 64
	run verify --ip 192.0.2.1 --helo h.example
	assert_failure 64
	run mail-verify --ip 192.0.2.1 --helo h.example --mail-from a@pass.example --dns nonsense < "$BATS_TEST_TMPDIR/msg"
	assert_failure 64
	assert_output --partial "invalid DNS servers 'nonsense'"
	printf 'delivery.max_message_size = 10\n' >> "$FACTEUR_CONFIG"
	run verify --ip 192.0.2.1 --helo h.example --mail-from a@pass.example
	assert_failure 65
	assert_output --partial "larger than delivery.max_message_size"
}

@test "DKIM: dkimpy's signatures in every canonicalization, ed25519, l=, changes, a short key: as dkimpy decides, and l= noted" {
	mkdir "$BATS_TEST_TMPDIR/dk"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/dkim_cases.py" "$BATS_TEST_TMPDIR/dk" "$ZONE" > "$BATS_TEST_TMPDIR/expected" # and what dkimpy says
	[ "$(wc -l < "$BATS_TEST_TMPDIR/expected")" -eq 11 ]
	oracle_agrees dk a@signer.example 'j["dkim"][0]["result"]'
	run mail-verify --dns "127.0.0.1:$DNS" --ip 192.0.2.1 --helo h.example --mail-from a@signer.example --json \
		< "$BATS_TEST_TMPDIR/dk/length-appended.eml"
	assert_output --partial '"whole_body":false'
	run mail-verify --dns "127.0.0.1:$DNS" --ip 192.0.2.1 --helo h.example --mail-from a@signer.example < "$BATS_TEST_TMPDIR/dk/short-key.eml"
	assert_output --partial "dkim=fail (RSA key of 512 bits, under 1024 RFC 8301) header.d=signer.example header.i=@signer.example header.s=short header.a=rsa-sha256"
}

@test "ARC: dkimpy's chains of one and two intermediaries, changed or tampered with: as dkimpy's arc_verify decides; information in the field" {
	mkdir "$BATS_TEST_TMPDIR/arc"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/arc_cases.py" "$BATS_TEST_TMPDIR/arc" "$ZONE" > "$BATS_TEST_TMPDIR/expected"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/expected")" -eq 8 ]
	grep -q "^two-hops pass$" "$BATS_TEST_TMPDIR/expected"
	grep -q "^results-tampered fail$" "$BATS_TEST_TMPDIR/expected"
	oracle_agrees arc carol@origin.example 'j["arc"]["result"]'
	v() { mail-verify --dns "127.0.0.1:$DNS" --authserv-id mx.here.test --ip 192.0.2.1 --helo h.example --mail-from carol@origin.example < "$BATS_TEST_TMPDIR/arc/$1.eml"; }
	run v two-hops
	assert_line --partial "arc=pass (2 ARC sets, the last sealed by fwd.example) smtp.remote-ip=192.0.2.1;"
	run v changed-between-hops
	assert_line --partial "arc=fail (the chain was already failed at i=2)"
	run v results-tampered
	assert_line --partial "arc=fail (ARC-Seal i=1: seal did not verify)"
	run v changed-after-seal
	assert_line --partial "arc=fail (ARC-Message-Signature i=1: body hash did not verify)"
	run v none
	refute_line --regexp '^[[:space:]]*arc='
}

@test "DKIM: a message without a signature is dkim=none" {
	run verify --ip 192.0.2.1 --helo h.example --mail-from a@pass.example
	assert_success
	assert_output --partial "dkim=none"
}

@test "DMARC: aligned DKIM passes; a forged From under p=reject fails with dis=reject; l= and t=y; quarantine" {
	signed_cases
	dmarc_record signer.example "v=DMARC1; p=reject; rua=mailto:dmarc@signer.example"
	dmarc_record q.example "v=DMARC1; p=quarantine"
	dmarc_record testing.example "v=DMARC1; p=reject; t=y"
	dk="$BATS_TEST_TMPDIR/dk"
	v() { mail-verify --dns "127.0.0.1:$DNS" --authserv-id mx.here.test --ip 203.0.113.5 --helo h.example "$@"; }
	run v --mail-from bounce@elsewhere.example < "$dk/rsa-relaxed-relaxed.eml"
	assert_output --partial "dmarc=pass (p=reject dis=none) header.from=signer.example"
	run v --mail-from bounce@elsewhere.example < "$dk/body-changed.eml"
	assert_output --partial "dmarc=fail (p=reject dis=reject) header.from=signer.example"
	# l= does not cover what was appended: not a DMARC pass.
	run v --mail-from bounce@elsewhere.example --json < "$dk/length-appended.eml"
	assert_output --partial '"dmarc":{"result":"fail"'
	printf 'From: boss@q.example\nSubject: pay this\n\nnow\n' > "$BATS_TEST_TMPDIR/q"
	run v --mail-from x@elsewhere.example < "$BATS_TEST_TMPDIR/q"
	assert_output --partial "dmarc=fail (p=quarantine dis=quarantine) header.from=q.example"
	printf 'From: boss@testing.example\nSubject: pay this\n\nnow\n' > "$BATS_TEST_TMPDIR/t"
	run v --mail-from x@elsewhere.example < "$BATS_TEST_TMPDIR/t"
	assert_output --partial "dmarc=fail (p=reject t=y dis=quarantine) header.from=testing.example"
}

@test "mail-smtpd (MX): Authentication-Results added and forged ones removed; DMARC reject is 550 before any 250; quarantine into Junk; the allow-list" {
	FACTEUR_CONFIG="$BATS_TEST_TMPDIR/facteur.toml" setup_state
	signed_cases
	dmarc_record signer.example "v=DMARC1; p=reject"
	dmarc_record q.example "v=DMARC1; p=quarantine"
	sed -i '/^checks\./d' "$FACTEUR_CONFIG" # the DNS of this test's zone
	printf 'hostname = "mx.here.test"\nchecks.dns_servers = "127.0.0.1:%s"\nchecks.dns_timeout = 1\nchecks.dmarc_allow = ["lists.example"]\n' "$DNS" >> "$FACTEUR_CONFIG"
	MX=$(free_port)
	daemon mail-smtpd --listen 127.0.0.1:$MX
	wait_port $MX
	send() { # FILE MAIL-FROM -> the reply to the end of data
		python3 - "$MX" "$1" "$2" <<-'EOF2'
		import smtplib, sys
		s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
		try:
		    s.sendmail(sys.argv[3], ["alice@example.test"], open(sys.argv[2], "rb").read())
		    print("accepted")
		except smtplib.SMTPDataError as e:
		    print(e.smtp_code, e.smtp_error.decode())
		s.quit()
		EOF2
	}
	# Signed and aligned: accepted, our field on top.
	{ printf 'Authentication-Results: mx.here.test; dmarc=pass header.from=forged.example\r\nAuthentication-Results: other.example; spf=pass smtp.mailfrom=x@y.example\r\n'; cat "$BATS_TEST_TMPDIR/dk/rsa-relaxed-relaxed.eml"; } > "$BATS_TEST_TMPDIR/good"
	run send "$BATS_TEST_TMPDIR/good" bounce@elsewhere.example
	assert_output "accepted"
	f=$(grep -l "^From: Carol" "$MAIL"/alice/new/*)
	# ours above our Received: (after delivery's Return-Path and Delivered-To)
	grep -m2 -E "^(Authentication-Results|Received):" "$f" | head -1 | grep -q "^Authentication-Results: mx.here.test;"
	grep -q "dkim=pass (signature verified) header.d=signer.example" "$f"
	grep -q "dmarc=pass (p=reject dis=none) header.from=signer.example" "$f"
	[ "$(grep -c "^Authentication-Results: mx.here.test" "$f")" -eq 1 ] # the forged one is gone
	grep -q "^Authentication-Results: other.example;" "$f"                # another's is kept
	! grep -q "forged.example" "$f"
	# Forged From under p=reject: 550 5.7.1, nothing delivered or queued.
	run send "$BATS_TEST_TMPDIR/dk/body-changed.eml" bounce@elsewhere.example
	assert_output --partial "550 5.7.1 message refused: the DMARC policy of signer.example is to reject"
	[ "$(ls "$MAIL/alice/new" | wc -l)" -eq 1 ]
	[ -z "$(ls "$FACTEUR_STATE_DIR/queue/mess")" ]
	# The same from an allow-listed mailing list: accepted into INBOX.
	run send "$BATS_TEST_TMPDIR/dk/body-changed.eml" list-bounces@lists.example
	assert_output "accepted"
	[ "$(ls "$MAIL/alice/new" | wc -l)" -eq 2 ]
	# p=quarantine: delivered, into Junk.
	printf 'From: boss@q.example\r\nTo: alice@example.test\r\nSubject: pay this\r\n\r\nnow\r\n' > "$BATS_TEST_TMPDIR/q"
	run send "$BATS_TEST_TMPDIR/q" x@elsewhere.example
	assert_output "accepted"
	[ "$(ls "$MAIL/alice/new" | wc -l)" -eq 2 ]
	grep -q "dis=quarantine" "$MAIL"/alice/.Junk/new/*
	grep -q "smtpd.checks: .* dmarc=fail from_domain=q.example disposition=quarantine" "$BATS_TEST_TMPDIR/daemon.log"
}
