#!/usr/bin/env bats
# The messages the system writes for people: out-of-office replies
# (mail-autoreply and delivery), signatures and disclaimers (submission and
# mail-send), and mail-send itself. Results are read back by Python's email
# package (no defects allowed) and mblaze.

load helper

setup() {
	setup_smtp
	QUEUE="$FACTEUR_STATE_DIR/queue"
	printf 'I am away until Monday.\nBack on the 7th.\n' > "$BATS_TEST_TMPDIR/away.txt"
	mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --extra-address team@example.test
}
teardown() { stop_daemons; }

# incoming FROM [HEADER...]: a message to bob from FROM, extra header lines
incoming() {
	local from=$1
	shift
	printf 'Return-Path: <%s>\nFrom: %s\nTo: Bob <bob@example.test>\nSubject: question\nMessage-ID: <q1@elsewhere.test>\nReferences: <q0@elsewhere.test>\n' "$from" "$from"
	for h in "$@"; do printf '%s\n' "$h"; done
	printf '\nhello\n'
}

export -f incoming

# verdict FROM [HEADER...]: what mail-autoreply --dry-run says
verdict() { incoming "$@" | mail-autoreply --dry-run bob@example.test; }

# check_email FILE: Python's email package reads FILE without a defect;
# prints "type charset cte" and the decoded text of each text part.
check_email() {
	python3 - "$1" <<-'EOF'
	import sys, email, email.policy
	m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
	for p in m.walk():
	    assert not p.defects, (p.get_content_type(), p.defects)
	    if p.get_content_maintype() == "text":
	        print(p.get_content_type(), p.get_content_charset(), p["Content-Transfer-Encoding"])
	        print(p.get_content())
	EOF
}

@test "auto-reply rules: who gets no reply (RFC 3834, Sieve vacation)" {
	run verdict carol@elsewhere.test
	assert_output "would reply"
	run verdict ""
	assert_output "null sender"
	run verdict bob@example.test
	assert_output "sent by the user"
	run verdict team@example.test
	assert_output "sent by the user"
	for robot in MAILER-DAEMON@elsewhere.test owner-list@elsewhere.test list-request@elsewhere.test \
		LISTSERV@elsewhere.test majordomo@elsewhere.test noreply@elsewhere.test no-reply@elsewhere.test; do
		run verdict "$robot"
		assert_output "sender looks automated"
	done
	run verdict carol@elsewhere.test "Auto-Submitted: auto-generated"
	assert_output "Auto-Submitted: auto-generated"
	run verdict carol@elsewhere.test "Auto-Submitted: no"
	assert_output "would reply"
	for p in bulk junk list; do
		run verdict carol@elsewhere.test "Precedence: $p"
		assert_output "Precedence: $p"
	done
	run verdict carol@elsewhere.test "List-Id: <news.elsewhere.test>"
	assert_output "mailing list (List-Id)"
	run verdict carol@elsewhere.test "List-Unsubscribe: <mailto:u@elsewhere.test>"
	assert_output --partial "mailing list"
	run verdict carol@elsewhere.test "X-Auto-Response-Suppress: OOF, DR"
	assert_output --partial "X-Auto-Response-Suppress"
	run verdict carol@elsewhere.test "X-Auto-Response-Suppress: All"
	assert_output --partial "X-Auto-Response-Suppress"
	# a Bcc (or list) copy: none of bob's addresses in To or Cc
	run bash -c "incoming carol@elsewhere.test | sed 's/^To: .*/To: someone@elsewhere.test/' | mail-autoreply --dry-run bob@example.test"
	assert_output "not addressed to the user in To or Cc"
	# an extra address in Cc counts
	run bash -c "incoming carol@elsewhere.test 'Cc: team@example.test' | sed 's/^To: .*/To: someone@elsewhere.test/' | mail-autoreply --dry-run bob@example.test"
	assert_output "would reply"
	# off
	mail-admin autoreply off bob@example.test
	run verdict carol@elsewhere.test
	assert_output "the auto-reply of bob@example.test is off"
}

@test "auto-reply dates: not before --from, not from --until on" {
	mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --from 2099-01-01
	run verdict carol@elsewhere.test
	assert_output "not started yet"
	mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --from 2020-01-01 --until 2020-02-01T12:00
	run verdict carol@elsewhere.test
	assert_output "ended"
	run mail-admin --json autoreply show bob@example.test
	assert_output --partial '"active":false'
	assert_output --partial '"until":"2020-02-01T12:00:00Z"'
	run mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --from 2020-02-02 --until 2020-02-01
	assert_failure 64
	run mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --from "next week"
	assert_failure 64
	run mail-admin autoreply set nobody@example.test --body-file "$BATS_TEST_TMPDIR/away.txt"
	assert_failure 67
}

@test "delivery sends the reply through the queue: null sender, RFC 3834 headers, threading; once per interval" {
	incoming carol@elsewhere.test | mail-deliver -f carol@elsewhere.test bob@example.test
	[ "$(queued_files | wc -l)" -eq 1 ]
	q=$(queued_files)
	grep -q "^from	$" "$q"
	grep -q "^rcpt	carol@elsewhere.test	notify=NEVER" "$q"
	sed '1,/^$/d' "$q" > "$BATS_TEST_TMPDIR/reply"
	python3 - "$BATS_TEST_TMPDIR/reply" <<-'EOF'
	import sys, email, email.policy
	m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
	assert not m.defects, m.defects
	assert m["From"] == "bob@example.test", m["From"]
	assert m["To"] == "carol@elsewhere.test", m["To"]
	assert m["Subject"] == "Auto: question", m["Subject"]
	assert m["Auto-Submitted"] == "auto-replied"
	assert m["In-Reply-To"] == "<q1@elsewhere.test>"
	assert m["References"] == "<q0@elsewhere.test> <q1@elsewhere.test>", m["References"]
	assert m["Message-ID"] and m["Date"]
	assert m.get_content() == "I am away until Monday.\nBack on the 7th.\n", repr(m.get_content())
	EOF
	# the same sender again: no second reply within the interval (7d)
	incoming carol@elsewhere.test | mail-deliver -f carol@elsewhere.test bob@example.test
	[ "$(queued_files | wc -l)" -eq 1 ]
	run bash -c "incoming carol@elsewhere.test | mail-autoreply bob@example.test"
	assert_output --partial "already replied to carol@elsewhere.test within the interval"
	# another sender gets one
	incoming dave@elsewhere.test | mail-deliver -f dave@elsewhere.test bob@example.test
	[ "$(queued_files | wc -l)" -eq 2 ]
	# with an interval of 1s, a reply again after it
	mail-admin autoreply set bob@example.test --body-file "$BATS_TEST_TMPDIR/away.txt" --interval 1s
	run bash -c "incoming carol@elsewhere.test | FACTEUR_NOW=+2 mail-autoreply --json bob@example.test"
	assert_output --partial '"sent":true'
	[ "$(queued_files | wc -l)" -eq 3 ]
}

@test "a given subject and HTML; header values from the original never inject a header" {
	printf '<p>Away</p>\n' > "$BATS_TEST_TMPDIR/away.html"
	mail-admin autoreply set bob@example.test --subject "Absent — retour lundi" --body-file "$BATS_TEST_TMPDIR/away.txt" --html-file "$BATS_TEST_TMPDIR/away.html"
	python3 -c 'import sys; sys.stdout.buffer.write(b"From: carol@elsewhere.test\nTo: bob@example.test\nSubject: hi\nMessage-ID: <a@b>\n\tBcc: victim@elsewhere.test\n\nx\n")' |
		mail-autoreply -f carol@elsewhere.test bob@example.test
	sed '1,/^$/d' "$(queued_files)" > "$BATS_TEST_TMPDIR/reply"
	! grep -qi "^Bcc:" "$BATS_TEST_TMPDIR/reply"
	run check_email "$BATS_TEST_TMPDIR/reply"
	assert_success
	assert_line "text/html us-ascii 7bit"
	python3 - "$BATS_TEST_TMPDIR/reply" <<-'EOF'
	import sys, email, email.policy
	m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
	assert m["Subject"] == "Absent — retour lundi", m["Subject"]
	assert m["In-Reply-To"].startswith("<a@b>"), m["In-Reply-To"]
	assert len(m.get_all("In-Reply-To")) == 1
	EOF
}

@test "two mailboxes with auto-replies writing to each other: exactly one reply each" {
	mail-admin autoreply set alice@example.test --body-file "$BATS_TEST_TMPDIR/away.txt"
	daemon mail-queue run
	printf 'From: alice@example.test\nTo: bob@example.test\nSubject: ping\n\nhi bob\n' | mail-deliver -f alice@example.test bob@example.test
	printf 'From: bob@example.test\nTo: alice@example.test\nSubject: pong\n\nhi alice\n' | mail-deliver -f bob@example.test alice@example.test
	sleep 3
	stop_daemons
	[ "$(queued_files | wc -l)" -eq 0 ]
	[ "$(grep -l '^Subject: Auto: ping' "$MAIL"/alice/new/* | wc -l)" -eq 1 ]
	[ "$(grep -l '^Subject: Auto: pong' "$MAIL"/bob/new/* | wc -l)" -eq 1 ]
	[ "$(count_files "$MAIL/alice/new")" -eq 2 ]
	[ "$(count_files "$MAIL/bob/new")" -eq 2 ]
}

# submit_as_alice FILE: alice submits the message in FILE (LF line ends) to bob
submit_as_alice() {
	python3 - "$1" "$SUBPORT" <<-'EOF'
	import smtplib, sys
	msg = open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n")
	s = smtplib.SMTP("127.0.0.1", int(sys.argv[2]))
	s.login("alice@example.test", "pw-alice")
	s.sendmail("alice@example.test", ["bob@example.test"], msg)
	s.quit()
	EOF
}

# signed FILE: submit it, deliver it, print bob's copy's path
signed() {
	submit_as_alice "$1"
	mail-queue run --once >/dev/null 2>&1
	ls -t "$MAIL"/bob/new/* | head -n 1
}

@test "signatures and disclaimers: plain, HTML, alternative, quoted-printable, base64, ISO-8859-1, UTF-8" {
	mail-admin autoreply off bob@example.test
	printf 'Alice Martin\nVentes — Example\n' > "$BATS_TEST_TMPDIR/sig.txt"
	printf '<p>Alice <b>Martin</b></p>' > "$BATS_TEST_TMPDIR/sig.html"
	printf 'Confidential.\n' > "$BATS_TEST_TMPDIR/dis.txt"
	mail-admin signature set alice@example.test --text-file "$BATS_TEST_TMPDIR/sig.txt" --html-file "$BATS_TEST_TMPDIR/sig.html"
	mail-admin domain disclaimer set example.test --text-file "$BATS_TEST_TMPDIR/dis.txt"
	SUBPORT=$(free_port)
	daemon mail-smtpd --role submission --listen "127.0.0.1:$SUBPORT"
	wait_port "$SUBPORT"
	python3 - "$BATS_TEST_TMPDIR" <<-'EOF'
	import sys, email.message, email.policy
	from email.mime.text import MIMEText
	from email.mime.multipart import MIMEMultipart
	d = sys.argv[1]
	def save(name, m):
	    m["From"], m["To"], m["Subject"] = "alice@example.test", "bob@example.test", name
	    open(f"{d}/{name}.eml", "wb").write(m.as_bytes(policy=email.policy.SMTP).replace(b"\r\n", b"\n"))
	save("plain", MIMEText("Hello Bob.\n", "plain", "us-ascii"))
	import quopri
	qp = email.message.Message(); qp["Content-Type"] = "text/plain; charset=utf-8"; qp["Content-Transfer-Encoding"] = "quoted-printable"
	qp.set_payload(quopri.encodestring(("Voil\u00e0 le d\u00e9tail.\n" + "x" * 100 + "\n").encode()).decode()); save("qp", qp)
	import base64
	b64 = email.message.Message(); b64["Content-Type"] = "text/plain; charset=utf-8"; b64["Content-Transfer-Encoding"] = "base64"
	b64.set_payload(base64.encodebytes("Fran\u00e7ais en base64.\n".encode()).decode()); save("b64", b64)
	save("latin1", MIMEText("Caf\u00e9 cr\u00e8me.\n", "plain", "iso-8859-1"))
	save("html", MIMEText("<html><body><p>Hi</p></body></html>\n", "html", "utf-8"))
	alt = MIMEMultipart("alternative")
	alt.attach(MIMEText("Plain part.\n", "plain", "utf-8"))
	alt.attach(MIMEText("<html><body><p>HTML part</p></body></html>\n", "html", "utf-8"))
	mixed = MIMEMultipart("mixed"); mixed.attach(alt)
	att = email.message.Message(); att["Content-Type"] = "application/octet-stream"; att["Content-Transfer-Encoding"] = "base64"
	att["Content-Disposition"] = 'attachment; filename="a.bin"'; att.set_payload("AAEC\n"); mixed.attach(att)
	save("mixed", mixed)
	signed = MIMEMultipart("signed", protocol="application/pgp-signature", micalg="pgp-sha256")
	signed.attach(MIMEText("Signed text.\n", "plain", "us-ascii"))
	sig = email.message.Message(); sig["Content-Type"] = "application/pgp-signature"; sig.set_payload("-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n")
	signed.attach(sig)
	save("signed", signed)
	save("already", MIMEText("Hi.\n-- \nAlice Martin\nVentes \u2014 Example\n\nConfidential.\n", "plain", "utf-8"))
	save("quoted", MIMEText("Yes.\n\n> Hi.\n> -- \n> Alice Martin\n> Ventes \u2014 Example\n", "plain", "utf-8"))
	EOF
	f=$(signed "$BATS_TEST_TMPDIR/plain.eml")
	run check_email "$f"
	assert_success
	assert_line "text/plain utf-8 quoted-printable"
	assert_output --partial "$(printf 'Hello Bob.\n-- \nAlice Martin\nVentes — Example\n\nConfidential.')"
	f=$(signed "$BATS_TEST_TMPDIR/qp.eml")
	run check_email "$f"
	assert_line "text/plain utf-8 quoted-printable"
	assert_output --partial "$(printf 'Voilà le détail.\n%s\n-- \nAlice Martin' "$(printf 'x%.0s' $(seq 100))")"
	f=$(signed "$BATS_TEST_TMPDIR/b64.eml")
	run check_email "$f"
	assert_line "text/plain utf-8 base64"
	assert_output --partial "$(printf 'Français en base64.\n-- \nAlice Martin')"
	f=$(signed "$BATS_TEST_TMPDIR/latin1.eml")
	run check_email "$f"
	assert_line "text/plain utf-8 quoted-printable"
	assert_output --partial "$(printf 'Café crème.\n-- \nAlice Martin\nVentes — Example')"
	f=$(signed "$BATS_TEST_TMPDIR/html.eml")
	run check_email "$f"
	assert_output --partial '<p>Hi</p><div class="signature">-- <br>'
	assert_output --partial '<p>Alice <b>Martin</b></p></div>'
	assert_output --partial '</div>
</body></html>'
	f=$(signed "$BATS_TEST_TMPDIR/mixed.eml")
	run check_email "$f"
	assert_success
	assert_output --partial "$(printf 'Plain part.\n-- \nAlice Martin')"
	assert_output --partial '<p>HTML part</p><div class="signature">'
	grep -q "^AAEC$" "$f"
	# a signed message is left exactly as it was
	f=$(signed "$BATS_TEST_TMPDIR/signed.eml")
	! grep -q "Alice Martin" "$f"
	sed '1,/^Message-ID:/d' "$f" | grep -v "^Date:" > "$BATS_TEST_TMPDIR/got"
	grep -q "Signed text." "$BATS_TEST_TMPDIR/got"
	# no second signature; a quoted one does not count
	f=$(signed "$BATS_TEST_TMPDIR/already.eml")
	[ "$(grep -c '^Alice Martin' <(check_email "$f"))" -eq 1 ]
	f=$(signed "$BATS_TEST_TMPDIR/quoted.eml")
	run check_email "$f"
	assert_output --partial "$(printf '> Ventes — Example\n-- \nAlice Martin')"
	# show and remove
	run mail-admin signature show alice@example.test
	assert_output --partial "Alice Martin"
	mail-admin signature remove alice@example.test
	mail-admin domain disclaimer remove example.test
	run mail-admin signature show alice@example.test
	assert_failure 67
	f=$(signed "$BATS_TEST_TMPDIR/plain.eml")
	! grep -q "Alice Martin" "$f"
}

@test "mail-send: attachments with non-ASCII names read back by Python and mblaze; queued with the signature" {
	mail-admin autoreply off bob@example.test
	printf 'Alice\n' > "$BATS_TEST_TMPDIR/sig.txt"
	mail-admin signature set alice@example.test --text-file "$BATS_TEST_TMPDIR/sig.txt"
	mkdir "$BATS_TEST_TMPDIR/files"
	head -c 100000 /dev/urandom > "$BATS_TEST_TMPDIR/files/facture été n°42.pdf"
	printf 'a,b\n1,2\n' > "$BATS_TEST_TMPDIR/files/data.csv"
	printf '\x00\x01binary' > "$BATS_TEST_TMPDIR/files/blob"
	printf '<p>Bonjour</p>\n' > "$BATS_TEST_TMPDIR/files/body.html"
	run bash -c "printf 'Bonjour,\nla facture est jointe.\n' | mail-send --from 'Alice Martin <alice@example.test>' \
		--to bob@example.test --cc 'Zoé Durand <zoe@elsewhere.test>' --bcc hidden@example.test \
		--subject 'Facture n°42 — novembre' --reply-to compta@example.test --header 'X-Invoice: 42' \
		--html '$BATS_TEST_TMPDIR/files/body.html' \
		--attach '$BATS_TEST_TMPDIR/files/facture été n°42.pdf' --attach '$BATS_TEST_TMPDIR/files/data.csv' \
		--attach '$BATS_TEST_TMPDIR/files/blob' 2>/dev/null"
	assert_success
	id=$output
	q="$QUEUE/mess/$id"
	grep -q "^rcpt	bob@example.test" "$q"
	grep -q "^rcpt	zoe@elsewhere.test" "$q"
	grep -q "^rcpt	hidden@example.test" "$q"
	grep -q "^from	alice@example.test$" "$q"
	sed '1,/^$/d' "$q" > "$BATS_TEST_TMPDIR/sent.eml"
	! grep -qi "^Bcc:" "$BATS_TEST_TMPDIR/sent.eml"
	python3 - "$BATS_TEST_TMPDIR/sent.eml" "$BATS_TEST_TMPDIR/files" <<-'EOF'
	import sys, os, email, email.policy
	m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
	for p in m.walk():
	    assert not p.defects, p.defects
	assert m["Subject"] == "Facture n°42 — novembre", m["Subject"]
	assert m["From"] == "Alice Martin <alice@example.test>"
	assert m["Cc"] == "Zoé Durand <zoe@elsewhere.test>", m["Cc"]
	assert m["Reply-To"] == "compta@example.test" and m["X-Invoice"] == "42"
	assert m["Message-ID"].endswith("@example.test>") and m["Date"]
	atts = {p.get_filename(): p for p in m.iter_attachments()}
	assert set(atts) == {"facture été n°42.pdf", "data.csv", "blob"}, atts.keys()
	for name, p in atts.items():
	    assert p.get_content() if False else True
	    data = p.get_payload(decode=True)
	    assert data == open(os.path.join(sys.argv[2], name), "rb").read(), name
	assert atts["facture été n°42.pdf"].get_content_type() == "application/pdf"
	assert atts["data.csv"].get_content_type() == "text/csv"
	assert atts["blob"].get_content_type() == "application/octet-stream"
	body = m.get_body(("plain",)).get_content()
	assert body.startswith("Bonjour,\nla facture est jointe.\n-- \nAlice\n"), repr(body)
	assert "<p>Bonjour</p>" in m.get_body(("html",)).get_content()
	EOF
	run mshow -t "$BATS_TEST_TMPDIR/sent.eml"
	assert_output --partial 'application/pdf size=100000 name="facture été n°42.pdf"'
	assert_output --partial 'text/csv size=8 name="data.csv"'
	cd "$BATS_TEST_TMPDIR" && mkdir out && cd out
	mshow -x "$BATS_TEST_TMPDIR/sent.eml" 4 5 6 >/dev/null
	cmp "facture été n°42.pdf" "$BATS_TEST_TMPDIR/files/facture été n°42.pdf"
	cmp data.csv "$BATS_TEST_TMPDIR/files/data.csv"
	# delivered: bob gets it
	mail-queue run --once >/dev/null 2>&1
	[ "$(count_files "$MAIL/bob/new")" -eq 1 ]
}

@test "mail-send errors: exit codes and messages naming the problem; --print changes nothing" {
	run bash -c "echo x | mail-send --from alice@example.test --to bob@example.test --attach /nonexistent/file.pdf"
	assert_failure 66
	assert_output --partial "/nonexistent/file.pdf"
	run bash -c "echo x | mail-send --from alice@example.test --to 'bad@@address'"
	assert_failure 65
	assert_output --partial "bad@@address"
	run bash -c "echo x | mail-send --from stranger@elsewhere.test --to bob@example.test"
	assert_failure 67
	assert_output --partial "stranger@elsewhere.test is not one of our addresses"
	run bash -c "echo x | mail-send --from alice@example.test"
	assert_failure 64
	run bash -c "echo x | mail-send --from alice@example.test --to bob@example.test --header 'Subject: sneaky'"
	assert_failure 64
	run bash -c "echo x | mail-send --from alice@example.test --to bob@example.test --header 'X-Bad: a
Bcc: victim@elsewhere.test' --print"
	assert_success
	refute_line --regexp "^Bcc:"
	run bash -c "echo x | mail-send --to bob@example.test"
	assert_failure 64
	run bash -c "echo 'hi' | mail-send --from alice@example.test --to bob@example.test --subject test --print"
	assert_success
	assert_line "Subject: test"
	assert_line "MIME-Version: 1.0"
	[ -z "$(queued_files)" ]
}

@test "mail-send: a write or sync failure is a temporary failure (75) and leaves nothing in the queue" {
	for op in write fsync rename dirsync; do
		run bash -c "echo x | FACTEUR_FAULT=$op mail-send --from alice@example.test --to bob@example.test"
		assert_failure 75
		[ -z "$(queued_files)" ]
		[ -z "$(find "$QUEUE/tmp" -type f)" ]
	done
}
