#!/usr/bin/env bats
# Two facteur installations on loopback, each with its own state, MX and
# queue, finding each other through the tests' DNS server
# (tests/peers/dns_server.py): a.test on 127.0.0.2, b.test on 127.0.0.3.
# Mail signed by A passes SPF, DKIM and DMARC at B; mail forged as A's is
# refused or put into Junk by B; B sends its DMARC aggregate report about
# a.test to A's rua=, and A summarises it.

load helper

# zone_set NAME TYPE VALUE...: the records of NAME of that type
zone_set() {
	python3 -c 'import json, sys; p = sys.argv[1]; z = json.load(open(p)); z.setdefault(sys.argv[2], {})[sys.argv[3]] = sys.argv[4:]; json.dump(z, open(p + ".new", "w"))' "$ZONE" "$@"
	mv "$ZONE.new" "$ZONE"
}

# install NAME IP EXTRA-CONFIG: an installation of domain NAME.test, its MX on IP
install() {
	local dir="$BATS_TEST_TMPDIR/$1"
	printf 'hostname = "mx.%s.test"\nstate_dir = "%s"\noutbound.dns_servers = "127.0.0.1:%s"\noutbound.dns_timeout = 1\noutbound.port = %s\nchecks.dns_servers = "127.0.0.1:%s"\nchecks.dns_timeout = 1\n%s\n' \
		"$1" "$dir" "$DNS" "$PORT" "$DNS" "$3" > "$BATS_TEST_TMPDIR/$1.toml"
	(
		export FACTEUR_CONFIG="$BATS_TEST_TMPDIR/$1.toml" FACTEUR_STATE_DIR="$dir"
		mail-admin init >/dev/null
		mail-admin domain add "$1.test"
		mail-admin dkim generate "$1.test" >/dev/null
		mail-admin --json dkim show "$1.test" > "$BATS_TEST_TMPDIR/$1.dkim.json"
		daemon mail-smtpd --role mx --listen "$2:$PORT"
		daemon mail-queue run
	)
	python3 - "$BATS_TEST_TMPDIR/$1.dkim.json" "$ZONE" <<-'EOF'
	import json, sys
	z = json.load(open(sys.argv[2]))
	for r in json.load(open(sys.argv[1])):
	    if r["type"] == "TXT" and "_domainkey" in r["name"]:
	        z[r["name"]] = {"TXT": [r["value"]]}
	json.dump(z, open(sys.argv[2], "w"))
	EOF
	zone_set "$1.test" MX "mx.$1.test"
	zone_set "mx.$1.test" A "$2"
	wait_port "$PORT" "$2"
}

# as NAME CMD...: CMD for installation NAME
as() {
	local name=$1
	shift
	FACTEUR_CONFIG="$BATS_TEST_TMPDIR/$name.toml" FACTEUR_STATE_DIR="$BATS_TEST_TMPDIR/$name" "$@"
}

# wait_files DIR N: until DIR holds N files (10 s at most)
wait_files() {
	for _ in $(seq 100); do
		[ "$(find "$1" -type f 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

setup() {
	ZONE="$BATS_TEST_TMPDIR/zone.json"
	echo '{}' > "$ZONE"
	DNS=$(free_port)
	PORT=$(free_port)
	daemon /usr/bin/python3 "$BATS_TEST_DIRNAME/../peers/dns_server.py" "$DNS" "$ZONE"
	wait_port "$DNS"
}
teardown() { stop_daemons; }

@test "two installations: A's signed mail passes at B; mail forged as A's is refused (p=reject) or put into Junk (p=quarantine); B's DMARC report reaches A" {
	install a 127.0.0.2 ''
	install b 127.0.0.3 'checks.report_from = "dmarc-reports@b.test"
checks.report_org = "B Corp"'
	as a mail-admin mailbox add alice@a.test --no-password
	as a mail-admin mailbox add dmarc@a.test --no-password
	as b mail-admin mailbox add bob@b.test --no-password
	# Both connect from 127.0.0.1: that is where their mail comes from.
	zone_set a.test TXT "v=spf1 ip4:127.0.0.1 -all"
	zone_set b.test TXT "v=spf1 ip4:127.0.0.1 -all"
	zone_set _dmarc.a.test TXT "v=DMARC1; p=reject; rua=mailto:dmarc@a.test"
	# Alice writes to Bob, with a forged result of B's in her message.
	printf 'hello Bob\n' | as a mail-send --from alice@a.test --to bob@b.test --subject "from A" \
		--header "Authentication-Results: mx.b.test; dmarc=pass header.from=evil.test" >/dev/null
	BOB="$BATS_TEST_TMPDIR/b/mail/b.test/bob"
	wait_files "$BOB/new" 1
	f=$(find "$BOB/new" -type f)
	run /usr/bin/python3 - "$f" <<-'EOF'
	import sys, email, authres
	m = email.message_from_binary_file(open(sys.argv[1], "rb"))
	fields = m.get_all("Authentication-Results")
	assert len(fields) == 1, fields  # B's own; the forged one is gone
	ar = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + fields[0])
	print(ar.authserv_id, *sorted(f"{r.method}={r.result}" for r in ar.results))
	EOF
	assert_success
	assert_output "mx.b.test dkim=pass dmarc=pass spf=pass"
	! grep -q evil.test "$f"

	# A forged From: a.test under p=reject: 550 5.7.1 at the end of DATA.
	forge() {
		python3 - "$PORT" <<-'EOF'
		import smtplib, sys
		s = smtplib.SMTP("127.0.0.3", int(sys.argv[1]))
		msg = b"From: ceo@a.test\r\nTo: bob@b.test\r\nSubject: pay this invoice\r\n\r\nnow\r\n"
		try:
		    s.sendmail("forger@evil.test", ["bob@b.test"], msg)
		    print("accepted")
		except smtplib.SMTPDataError as e:
		    print(e.smtp_code, e.smtp_error.decode())
		s.quit()
		EOF
	}
	run forge
	assert_output --partial "550 5.7.1 message refused: the DMARC policy of a.test is to reject"
	# Under p=quarantine: delivered into Bob's Junk.
	zone_set _dmarc.a.test TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@a.test"
	run forge
	assert_output "accepted"
	wait_files "$BOB/.Junk/new" 1
	grep -q "dmarc=fail (p=quarantine dis=quarantine) header.from=a.test" "$BOB"/.Junk/new/*
	[ "$(find "$BOB/new" -type f | wc -l)" -eq 1 ]

	# The next day B sends its report about a.test to dmarc@a.test, signed
	# as b.test; A keeps it.
	run as b mail-admin --json dmarc send --dry-run
	assert_success
	assert_output '[]' # today's evaluations wait for the day to end
	run as b env FACTEUR_NOW=+86400 mail-admin dmarc send
	assert_success
	assert_output --regexp "^[0-9-]{10} a.test 3 messages: queued to dmarc@a.test \(.*\)$"
	DM="$BATS_TEST_TMPDIR/a/mail/a.test/dmarc"
	wait_files "$DM/new" 1
	r=$(find "$DM/new" -type f)
	grep -q "^Subject: Report Domain: a.test Submitter: B Corp Report-ID: <" "$r"
	grep -q "dkim=pass (signature verified) header.d=b.test" "$r"
	for _ in $(seq 50); do # kept by a step after the store
		grep -q "deliver.dmarc_report: dmarc@a.test: report .* of B Corp about a.test, 3 records" "$BATS_TEST_TMPDIR/daemon.log" && break
		sleep 0.1
	done
	grep "deliver.dmarc_report" "$BATS_TEST_TMPDIR/daemon.log"
	grep -q "deliver.dmarc_report: dmarc@a.test: report .* of B Corp about a.test, 3 records" "$BATS_TEST_TMPDIR/daemon.log"
	run as a mail-admin --json dmarc report a.test
	assert_success
	run /usr/bin/python3 -c 'import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == 1, rows
r = rows[0]
print(r["source_ip"], r["messages"], r["dmarc_pass"], r["quarantined"], r["rejected"], r["reporters"])' "$output"
	assert_output "127.0.0.1 3 1 1 1 ['B Corp']"
	run as a mail-admin dmarc report
	assert_line --partial "2 failed DMARC"
	# Sent once: nothing left for B to send.
	run as b env FACTEUR_NOW=+86400 mail-admin dmarc send
	assert_success
	assert_output ""
}

@test "mail-admin dmarc import keeps reports from files once; what is not a report, or not about our domains, is refused (65); send without checks.report_from is 78" {
	setup_state
	corpus="$BATS_TEST_DIRNAME/../fuzz/corpus/fuzz_dmarc_report"
	run mail-admin dmarc send
	assert_failure 78
	assert_output --partial "checks.report_from is not set"
	run mail-admin dmarc import "$corpus/report.zip" "$corpus/message.eml"
	assert_success
	assert_line "$corpus/report.zip: google.com report 1234567890123456789 about example.test, 2 records"
	assert_line "$corpus/message.eml: google.com report 1234567890123456789 about example.test, 2 records (already there)"
	run mail-admin dmarc report example.test
	assert_success
	assert_line --regexp "^example.test +192.0.2.25 +3 +3 +3 +3  google.com$"
	assert_line --regexp "^example.test +203.0.113.9 +7 +0 +0 +0  google.com \(7 failed DMARC\)$"
	sed 's/<domain>example.test</<domain>not-ours.test</' "$corpus/google.xml" > "$BATS_TEST_TMPDIR/foreign.xml"
	run mail-admin dmarc import "$BATS_TEST_TMPDIR/foreign.xml"
	assert_failure 65
	assert_output --partial "the report is about not-ours.test, not a domain of ours"
	printf 'Subject: hello\n\nnot a report\n' > "$BATS_TEST_TMPDIR/plain.eml"
	run mail-admin dmarc import "$BATS_TEST_TMPDIR/plain.eml"
	assert_failure 65
	assert_output --partial "no aggregate report in the message"
	run mail-admin dmarc import "$corpus/dtd.xml"
	assert_failure 65
	assert_output --partial "a DTD is not accepted"
}
