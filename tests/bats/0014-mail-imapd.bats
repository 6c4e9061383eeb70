#!/usr/bin/env bats
# mail-imapd: scripted dialogues (tests/dialogues/imap), real clients
# (imaplib, curl, mbsync, mblaze on the same Maildir), concurrent sessions,
# files changed by other tools, durability of APPEND, large and malformed
# messages.

load helper

setup() {
	setup_smtp
	for s in one two three; do sample_message $s | mail-deliver alice@example.test; done
	printf 'From: dave@elsewhere.test\nTo: alice@example.test\nSubject: report\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\nhello\n--XX\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=a.pdf\n\nJVBERi0xLjQK\n--XX--\n' |
		mail-deliver alice@example.test
}
teardown() { stop_daemons; }

dialogue() { python3 "$BATS_TEST_DIRNAME/../dialogues/run.py" "$BUILD/tools/mail-imapd" "$@"; }
DIALOGUES="$BATS_TEST_DIRNAME/../dialogues/imap"
CLIENTS="$BATS_TEST_DIRNAME/../clients"
serve() {
	P=$(free_port)
	daemon mail-imapd --listen 127.0.0.1:$P
	wait_port $P
}
files() { find "$MAIL/alice/$1new" "$MAIL/alice/$1cur" -type f | wc -l; }

@test "every scripted IMAP dialogue passes" {
	run dialogue "$DIALOGUES"/*.txt
	echo "$output"
	assert_success
	refute_output --partial FAIL
}

@test "imaplib: STARTTLS, LIST, CREATE, APPEND, SELECT, FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE, IDLE woken by a delivery" {
	serve
	run python3 "$CLIENTS/imaplib_scenario.py" $P alice@example.test pw-alice \
		--deliver sh -c 'printf "Subject: while idle\n\nx\n" | mail-deliver alice@example.test'
	echo "$output"
	assert_success
	# the appended message was moved to Archive/2026 and expunged; the copy is in INBOX
	[ "$(find "$MAIL/alice/.Archive.2026/cur" -type f | wc -l)" -eq 0 ]
	grep -l "alpha@example.org" "$MAIL"/alice/cur/*
	# the copy's cached header fields came along (from the source's cache row)
	run sqlite3 "$MAIL/alice/index.sqlite" "SELECT c.subject FROM cache c JOIN folders f ON f.id = c.folder_id WHERE f.name = 'INBOX'"
	assert_output --partial "=?utf-8?q?Caf=C3=A9_plans?="
	run mail-admin check
	assert_success
}

@test "two sessions: changes reported at NOOP, no EXPUNGE during FETCH or SEARCH" {
	serve
	run python3 "$CLIENTS/imap_concurrent.py" $P alice@example.test pw-alice
	echo "$output"
	assert_success
	assert_output --partial "UIDS 1 3 4 5"
}

@test "\\Recent in exactly one session; STATUS, EXAMINE and SELECT agree on it" {
	serve
	run python3 "$CLIENTS/imap_recent.py" $P
	echo "$output"
	assert_success
	assert_output --partial "ok"
}

@test "keywords in use are in SELECT's FLAGS; a new one is announced before its FETCH" {
	serve
	run python3 "$CLIENTS/imap_keywords.py" $P
	echo "$output"
	assert_success
}

@test "CONTEXT=SEARCH: a followed search hears of other sessions' changes at NOOP and in IDLE; NOUPDATE past the limit" {
	serve
	run python3 "$CLIENTS/imap_context.py" $P
	echo "$output"
	assert_success
}

@test "COMPRESS=DEFLATE: both directions compressed after the OK, pipelined commands inflated, garbage ends only that session" {
	serve
	run python3 "$CLIENTS/imap_compress.py" $P
	echo "$output"
	assert_success
}

@test "METADATA: server and mailbox annotations, DEPTH, MAXSIZE, NIL, RENAME and DELETE, limits" {
	serve
	run python3 "$CLIENTS/imap_metadata.py" $P
	echo "$output"
	assert_success
}

@test "IMAP limits of its own: sessions per user and address (imapd.max_userip), not SMTP's per-IP cap" {
	printf 'imapd.max_userip = 2\nsmtpd.max_per_ip = 1\n' >> "$FACTEUR_CONFIG"
	serve
	run python3 - "$P" <<'PY'
import imaplib, sys
port = int(sys.argv[1])
def login():
    m = imaplib.IMAP4("127.0.0.1", port)
    try:
        m.login("alice@example.test", "pw-alice")
        return m, "OK"
    except imaplib.IMAP4.error as e:
        return m, str(e)
a, ra = login()
b, rb = login()
c, rc = login()
print(ra, rb, rc)
assert ra == "OK" and rb == "OK" and "[LIMIT]" in rc, (ra, rb, rc)
a.logout()
import time; time.sleep(0.3)
e, re_ = login()
print("after one left:", re_)
assert re_ == "OK", re_
PY
	echo "$output"
	assert_success
}

@test "THREAD=REFERENCES and THREAD=ORDEREDSUBJECT through imaplib" {
	serve
	run python3 "$CLIENTS/imap_thread.py" $P
	echo "$output"
	assert_success
}

@test "CONDSTORE and QRESYNC: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, VANISHED, SELECT (QRESYNC ...)" {
	serve
	run python3 "$CLIENTS/imap_qresync.py" $P alice@example.test pw-alice "$MAIL/alice"
	echo "$output"
	assert_success
	assert_output --partial "QRESYNC OK"
}

@test "BINARY: decoded parts, literal8, BINARY.SIZE, UNKNOWN-CTE; APPEND of a literal8" {
	serve
	run python3 "$CLIENTS/imap_binary.py" $P alice@example.test pw-alice
	echo "$output"
	assert_success
	assert_output --partial "BINARY OK"
}

@test "UTF8=ACCEPT: UTF-8 mailbox names both ways, stored in modified UTF-7; APPEND UTF8 (literal8)" {
	serve
	run python3 "$CLIENTS/imap_utf8.py" $P alice@example.test pw-alice "$MAIL/alice"
	echo "$output"
	assert_success
	assert_output --partial "UTF8 OK"
}

@test "IMAP4rev2 when enabled: SELECT's LIST line, no \\Recent, ESEARCH, UTF-8 names; IMAP4rev1 otherwise" {
	serve
	printf 'Subject: new\n\nnew\n' | mail-deliver alice@example.test
	run python3 "$CLIENTS/imap_rev2.py" $P alice@example.test pw-alice
	echo "$output"
	assert_success
	assert_output --partial "IMAP4rev2 OK"
}

@test "files renamed by mblaze and mv are picked up, UIDs unchanged; mblaze sees what IMAP changed" {
	serve
	uids() { python3 - "$P" <<'PY'
import imaplib, sys
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("alice@example.test", "pw-alice"); M.select("INBOX")
for d in M.fetch("1:*", "(UID FLAGS)")[1]: print(d.decode())
PY
	}
	before=$(uids)
	echo "$before"
	# another Maildir tool reads and flags: new/ -> cur/ with :2,S, one flagged
	for f in "$MAIL"/alice/new/*; do mv "$f" "$MAIL/alice/cur/$(basename "$f"):2,S"; done
	f=$(ls "$MAIL/alice/cur" | head -n 1)
	mflag -F "$MAIL/alice/cur/$f" >/dev/null
	after=$(uids)
	echo "$after"
	[ "$(echo "$before" | grep -o 'UID [0-9]*')" = "$(echo "$after" | grep -o 'UID [0-9]*')" ]
	[ "$(echo "$after" | grep -c Seen)" -eq 4 ]
	[ "$(echo "$after" | grep -c Flagged)" -eq 1 ]
	# IMAP changes flags: mblaze sees them in the file names
	python3 - "$P" <<'PY'
import imaplib, sys
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("alice@example.test", "pw-alice"); M.select("INBOX")
M.store("1:*", "-FLAGS", "\\Seen"); M.store("2", "+FLAGS", "(\\Answered)")
M.create("Read"); M.uid("MOVE", "4", "Read")
PY
	[ "$(mlist -S "$MAIL/alice" | wc -l)" -eq 0 ]   # none seen
	[ "$(mlist -R "$MAIL/alice" | wc -l)" -eq 1 ]   # one replied
	[ "$(mlist "$MAIL/alice/.Read" | wc -l)" -eq 1 ]
	mlist "$MAIL/alice/.Read" | xargs grep -l "Subject: report"
}

@test "curl: LIST, fetch by UID, SEARCH, over STARTTLS" {
	serve
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "imap://127.0.0.1:$P/"
	assert_success
	assert_output --partial '"INBOX"'
	assert_output --partial '\Sent'
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "imap://127.0.0.1:$P/INBOX;UID=2"
	assert_success
	assert_output --partial "Subject: two"
	assert_output --partial "body of two"
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "imap://127.0.0.1:$P/INBOX?SUBJECT%20report"
	assert_success
	assert_output --partial "SEARCH 4"
	run curl -sS --ssl-reqd -k --user alice@example.test:wrong "imap://127.0.0.1:$P/"
	assert_failure
}

@test "mbsync syncs both ways; the next run changes nothing" {
	serve
	L="$BATS_TEST_TMPDIR/local"
	mkdir -p "$L"
	cat > "$BATS_TEST_TMPDIR/mbsyncrc" <<-EOF
	IMAPAccount fac
	Host 127.0.0.1
	Port $P
	User alice@example.test
	Pass pw-alice
	SSLType STARTTLS
	CertificateFile $FACTEUR_STATE_DIR/tls/cert.pem
	AuthMechs PLAIN

	IMAPStore remote
	Account fac

	MaildirStore local
	Path $L/
	Inbox $L/INBOX
	SubFolders Verbatim

	Channel all
	Far :remote:
	Near :local:
	Patterns *
	Create Both
	Expunge Both
	SyncState *
	EOF
	sync() { mbsync -c "$BATS_TEST_TMPDIR/mbsyncrc" -a; }
	run sync
	echo "$output"
	assert_success
	[ "$(find "$L/INBOX/new" "$L/INBOX/cur" -type f | wc -l)" -eq 4 ]
	# both sides change: a local message and a local flag; a server delivery
	printf 'From: me@example.test\nSubject: written locally\n\nlocal text\n' > "$L/INBOX/cur/100.local:2,S"
	f=$(ls "$L/INBOX/new" | head -n 1)
	mv "$L/INBOX/new/$f" "$L/INBOX/cur/${f%:2,*}:2,F"
	sample_message five | mail-deliver alice@example.test
	mkdir -p "$L/Local Folder/"{new,cur,tmp}
	printf 'Subject: in a new folder\n\nx\n' > "$L/Local Folder/new/200.local"
	run sync
	echo "$output"
	assert_success
	grep -l "written locally" "$MAIL"/alice/cur/* "$MAIL"/alice/new/*
	[ "$(ls "$MAIL"/alice/cur | grep -c ':2,.*F')" -eq 1 ]
	[ "$(find "$L/INBOX/new" "$L/INBOX/cur" -type f | wc -l)" -eq 6 ]
	grep -l "Subject: in a new folder" "$MAIL/alice/.Local Folder/"*/*
	# the next run: nothing to do on either side
	snap() { (cd "$L" && find . -type f ! -name '.mbsyncstate*' | sort; cd "$MAIL/alice" && find . -type f ! -name 'index.sqlite*' | sort); }
	before=$(snap)
	run mbsync -V -Dn -c "$BATS_TEST_TMPDIR/mbsyncrc" -a
	echo "$output"
	assert_success
	refute_output --partial "Appending"
	[ "$(snap)" = "$before" ]
	# isync 1.4 compresses when the server offers it (RFC 4978)
	assert_output --partial "COMPRESS DEFLATE"
}

@test "APPEND: a failed fsync is NO and stores nothing; kill -9 mid-literal leaves no message" {
	before=$(files "")
	printf '@protocol imap\n< * OK\n> a LOGIN alice@example.test pw-alice\n< a OK\n> b APPEND INBOX {20}\n< +\n>raw Subject: x\\r\\n\\r\\nbody\\r\\n\\r\\n\n< b NO [UNAVAILABLE]\n' > "$BATS_TEST_TMPDIR/d"
	FACTEUR_FAULT=fsync dialogue "$BATS_TEST_TMPDIR/d"
	[ "$(files "")" -eq "$before" ]
	[ -z "$(ls "$MAIL/alice/tmp")" ]
	# half a message, then the server is killed
	serve
	python3 - "$P" <<-'PY' &
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.recv(4096); s.sendall(b"a LOGIN alice@example.test pw-alice\r\n"); time.sleep(0.3); s.recv(4096)
	s.sendall(b"b APPEND INBOX {100000+}\r\nSubject: half\r\n\r\n" + b"x" * 5000)
	time.sleep(3)
	PY
	sleep 1
	pkill -9 -f "mail-imapd --listen 127.0.0.1:$P" || true
	wait
	[ "$(files "")" -eq "$before" ]
	! grep -rl "Subject: half" "$MAIL/alice/new" "$MAIL/alice/cur"
}

@test "a 10,000-deep MIME message, one with 100,000 parts and one with a 20 MB header: served, memory bounded" {
	python3 - "$BATS_TEST_TMPDIR" <<-'PY'
	import sys
	d = sys.argv[1]
	with open(d + "/deep", "w") as f:
	    f.write("Subject: deep\n")
	    for i in range(10000):
	        f.write(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n')
	    f.write("Content-Type: text/plain\n\ninnermost\n")
	    for i in reversed(range(10000)):
	        f.write(f"--b{i}--\n")
	with open(d + "/wide", "w") as f:
	    f.write('Subject: wide\nContent-Type: multipart/mixed; boundary="w"\n\n')
	    for i in range(100000):
	        f.write(f"--w\n\npart {i}\n")
	    f.write("--w--\n")
	with open(d + "/header", "w") as f:
	    f.write("Subject: big header\n")
	    for i in range(400000):
	        f.write(f"X-Filler-{i}: " + "y" * 40 + "\n")
	    f.write("\nsmall body\n")
	PY
	for m in deep wide; do mail-deliver alice@example.test < "$BATS_TEST_TMPDIR/$m"; done
	serve
	run python3 - "$P" "$BATS_TEST_TMPDIR/header" <<-'PY'
	import imaplib, sys, subprocess
	M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); M.login("alice@example.test", "pw-alice")
	# mail-deliver refuses a header over 1 MB; APPEND stores what the user gives
	typ, d = M.append("INBOX", None, None, open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n"))
	assert typ == "OK", d
	M.select("INBOX")
	for n in (5, 6, 7):
	    typ, d = M.fetch(str(n), "(BODYSTRUCTURE ENVELOPE RFC822.SIZE)")
	    assert typ == "OK", d
	    typ, d = M.fetch(str(n), "(BODY.PEEK[])")
	    assert typ == "OK" and len(d[0][1]) > 1000, n
	typ, d = M.fetch("5", "(BODY.PEEK[1.1.1.1.1.1])")
	assert typ == "OK"
	typ, d = M.search(None, "TEXT", "innermost")
	assert typ == "OK" and d[0] == b"5", d
	typ, d = M.search(None, "SUBJECT", '"big header"')
	assert d[0] == b"7", d
	# the session's process: anonymous memory (mapped message files aside)
	pid = subprocess.run(["pgrep", "-n", "-f", "mail-imapd --listen"], capture_output=True, text=True).stdout.split()[0]
	status = open(f"/proc/{pid}/status").read()
	anon = int([l for l in status.splitlines() if l.startswith("RssAnon")][0].split()[1])
	print("RssAnon kB", anon)
	assert anon < 64 * 1024, anon
	M.logout()
	PY
	echo "$output"
	assert_success
}

@test "deleting index.sqlite loses no mail: new UIDVALIDITY, every message there" {
	printf '@protocol imap\n< * OK\n> a LOGIN alice@example.test pw-alice\n< a OK\n> b SELECT INBOX\n<~ b OK\n<* * 4 EXISTS\n' > "$BATS_TEST_TMPDIR/d"
	dialogue "$BATS_TEST_TMPDIR/d"
	rm "$MAIL/alice/index.sqlite"*
	dialogue "$BATS_TEST_TMPDIR/d"
}

@test "a folder deleted and made again within a second never gets its old UIDVALIDITY back" {
	serve
	run python3 - "$P" <<'PY'
import imaplib, re, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice@example.test", "pw-alice")
seen = []
for _ in range(3):
    m.create("Again")
    m.append("Again", None, None, b"Subject: a\r\n\r\nx\r\n")
    m.select("Again")
    seen.append((int(m.response("UIDVALIDITY")[1][0]), m.uid("SEARCH", "ALL")[1][0]))
    m.select("INBOX"); m.delete("Again")
print(seen)
assert len({v for v, _ in seen}) == 3, seen
PY
	echo "$output"
	assert_success
}

@test "systemd socket activation and the inetd line serve IMAP" {
	P=$(free_port)
	daemon systemd-socket-activate -l 127.0.0.1:$P -E FACTEUR_STATE_DIR -E FACTEUR_CONFIG --inetd -a "$BUILD/tools/mail-imapd" --tls starttls
	wait_port $P
	run curl -sS --ssl-reqd -k --user alice@example.test:pw-alice "imap://127.0.0.1:$P/INBOX;UID=1"
	assert_success
	assert_output --partial "Subject: one"
}

@test "QUOTA: the mailbox's quota and use; APPEND over it is NO [OVERQUOTA]; none without a quota" {
	printf '@protocol imap\n< * OK\n> a LOGIN alice@example.test pw-alice\n< a OK\n> b GETQUOTAROOT INBOX\n< * QUOTAROOT "INBOX"\n< b OK\n> c GETQUOTA ""\n< c NO [NONEXISTENT]\n' > "$BATS_TEST_TMPDIR/none"
	dialogue "$BATS_TEST_TMPDIR/none"
	mail-admin mailbox quota alice@example.test 10K
	printf '@protocol imap\n< * OK\n> a LOGIN alice@example.test pw-alice\n< a OK\n> b GETQUOTAROOT Sent\n< * QUOTAROOT "Sent" ""\n< * QUOTA "" (STORAGE 1 10)\n< b OK\n> c GETQUOTA ""\n< * QUOTA "" (STORAGE 1 10)\n< c OK\n> d SETQUOTA "" (STORAGE 100)\n< d NO [NOPERM]\n> e APPEND INBOX {20000}\n< e NO [OVERQUOTA]\n' > "$BATS_TEST_TMPDIR/some"
	dialogue "$BATS_TEST_TMPDIR/some"
}
