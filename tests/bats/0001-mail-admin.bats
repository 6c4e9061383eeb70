#!/usr/bin/env bats
# mail-admin: every subcommand, its errors, its exit codes and --json.

load helper

setup() { setup_state; }

@test "init creates the state directory, database and a certificate" {
	[ -f "$FACTEUR_STATE_DIR/directory.sqlite" ]
	[ -f "$FACTEUR_STATE_DIR/tls/cert.pem" ]
	[ "$(stat -c %a "$FACTEUR_STATE_DIR/tls/key.pem")" = 640 ]
	[ "$(stat -c %a "$FACTEUR_STATE_DIR/secret.key")" = 600 ]
	key=$(cat "$FACTEUR_STATE_DIR/secret.key")
	openssl x509 -in "$FACTEUR_STATE_DIR/tls/cert.pem" -noout -subject
	run mail-admin init
	assert_success
	[ "$(cat "$FACTEUR_STATE_DIR/secret.key")" = "$key" ] # kept
}

@test "domain add, list, show, duplicates and bad names" {
	run mail-admin domain add Other.TEST
	assert_success
	run mail-admin domain add other.test
	assert_failure 73
	assert_output --partial "already exists: other.test"
	run mail-admin domain add 'bad_domain!'
	assert_failure 65
	assert_output --partial "invalid domain 'bad_domain!'"
	run mail-admin domain list --json
	assert_success
	echo "$output" | python3 -c '
import json,sys
d = json.load(sys.stdin)
assert [x["domain"] for x in d] == ["example.test", "other.test"], d
assert d[0]["mailboxes"] == 2 and d[1]["mailboxes"] == 0'
	run mail-admin domain show example.test --json
	assert_success
	echo "$output" | python3 -c '
import json,sys
d = json.load(sys.stdin)
assert {"address": "alice@example.test", "kind": "mailbox"} in d["addresses"], d'
	run mail-admin domain show nowhere.test
	assert_failure 67
}

@test "IDN domains are stored as A-labels" {
	run mail-admin domain add bücher.example
	assert_success
	run mail-admin domain list
	assert_output --partial "xn--bcher-kva.example"
	run mail-admin mailbox add info@BÜCHER.example --no-password
	assert_success
}

@test "domain remove needs --force with mailboxes; --purge deletes folders" {
	run mail-admin domain remove example.test
	assert_failure 65
	assert_output --partial "still has 2 mailboxes"
	run mail-admin domain remove example.test --force
	assert_success
	[ -d "$MAIL/alice" ]
	run mail-admin mailbox list
	assert_output ""
	mail-admin domain add example.test
	mail-admin mailbox add carl@example.test --no-password
	run mail-admin domain remove example.test --force --purge
	assert_success
	[ ! -d "$MAIL" ]
}

@test "mailbox add: folders, lower-cased name, errors" {
	for f in cur new tmp .Sent/cur .Drafts/cur .Trash/cur .Junk/cur .Archive/cur; do
		[ -d "$MAIL/alice/$f" ]
	done
	run mail-admin mailbox add Dave@Example.Test --no-password
	assert_success
	[ -d "$MAIL/dave" ]
	run mail-admin mailbox add DAVE@example.test --no-password
	assert_failure 73
	run mail-admin mailbox add x@nowhere.test --no-password
	assert_failure 67
	assert_output --partial "no such domain: nowhere.test"
	run mail-admin mailbox add 'not an address' --no-password
	assert_failure 65
	run mail-admin mailbox add 'a/b@example.test' --no-password
	assert_failure 65
	run mail-admin mailbox add 'x+y@example.test' --no-password
	assert_failure 65
	assert_output --partial "'x+y'"
	run mail-admin mailbox add eve@example.test </dev/null
	assert_failure 64
	assert_output --partial "--password-stdin"
	run mail-admin mailbox add
	assert_failure 64
}

@test "mailbox passwords are yescrypt and never echoed" {
	run python3 -c "import sqlite3;print(sqlite3.connect('$FACTEUR_STATE_DIR/directory.sqlite').execute(\"select password from mailboxes m join addresses a on a.id=m.address_id where local='alice'\").fetchone()[0])"
	assert_output --regexp '^\$y\$'
	run bash -c "echo newpass | mail-admin mailbox passwd alice@example.test --password-stdin"
	assert_success
	refute_output --partial newpass
	run bash -c "echo | mail-admin mailbox passwd alice@example.test --password-stdin"
	assert_failure 65
	run bash -c "echo x | mail-admin mailbox passwd nobody@example.test --password-stdin"
	assert_failure 67
}

@test "mailbox list, show, quota, remove (--json)" {
	run mail-admin mailbox quota bob@example.test 10M
	assert_success
	run mail-admin mailbox quota bob@example.test 10Q
	assert_failure 65
	run mail-admin mailbox list --json
	echo "$output" | python3 -c '
import json,sys
d = {x["address"]: x for x in json.load(sys.stdin)}
assert d["bob@example.test"]["quota"] == 10485760, d
assert d["alice@example.test"]["has_password"] is True
assert d["bob@example.test"]["has_password"] is False
assert d["alice@example.test"]["messages"] == 0'
	run mail-admin mailbox show alice@example.test --json
	echo "$output" | python3 -c '
import json,sys
d = json.load(sys.stdin)
assert d["folders"] == ["INBOX","Archive","Drafts","Junk","Sent","Trash"], d
assert d["path"].endswith("/mail/example.test/alice")'
	run mail-admin mailbox remove bob@example.test
	assert_success
	[ -d "$MAIL/bob" ]
	run mail-admin mailbox show bob@example.test
	assert_failure 67
	run mail-admin mailbox remove alice@example.test --purge
	[ ! -d "$MAIL/alice" ]
}

@test "alias add, list, remove; catch-all; one address is one thing" {
	run mail-admin alias add sales@example.test alice@example.test bob@example.test partner@outside.test
	assert_success
	run mail-admin alias add sales@example.test carl@example.test
	assert_success
	run mail-admin alias add alice@example.test bob@example.test
	assert_failure 73
	assert_output --partial "already exists as mailbox"
	run mail-admin alias add loop@example.test loop@example.test
	assert_failure 65
	run mail-admin alias add x@example.test 'not valid'
	assert_failure 65
	run mail-admin alias add @example.test alice@example.test
	assert_success
	run mail-admin alias list --json
	echo "$output" | python3 -c '
import json,sys
d = {x["alias"]: x["targets"] for x in json.load(sys.stdin)}
assert d["@example.test"] == ["alice@example.test"], d
assert d["sales@example.test"] == ["alice@example.test","bob@example.test","carl@example.test","partner@outside.test"], d'
	run mail-admin alias remove sales@example.test carl@example.test
	assert_success
	run mail-admin alias remove sales@example.test carl@example.test
	assert_failure 67
	run mail-admin alias remove sales@example.test
	assert_success
	run mail-admin alias remove sales@example.test
	assert_failure 67
	run mail-admin mailbox add sales@example.test --no-password
	assert_success
}

@test "group add, show, member add/remove, list --json" {
	run mail-admin group add team@example.test alice@example.test
	assert_success
	run mail-admin group add team@example.test
	assert_failure 73
	run mail-admin group member add team@example.test bob@example.test
	assert_success
	run mail-admin group show team@example.test --json
	echo "$output" | python3 -c '
import json,sys
d = json.load(sys.stdin)
assert d["members"] == ["alice@example.test","bob@example.test"], d'
	run mail-admin group member remove team@example.test alice@example.test
	assert_success
	run mail-admin group list --json
	assert_output --partial '"members":["bob@example.test"]'
	run mail-admin group show alice@example.test
	assert_failure 65
	run mail-admin group member add nogroup@example.test bob@example.test
	assert_failure 67
	run mail-admin group remove team@example.test
	assert_success
}

@test "check finds and repairs: missing folders, unindexed files, orphans" {
	run mail-admin check
	assert_success
	assert_output --partial "2 mailboxes checked, 0 problems"
	rm -rf "$MAIL/bob"
	printf 'Subject: from elsewhere\n\nx\n' > "$MAIL/alice/new/123.other.host"
	mkdir -p "$MAIL/ghost/cur"
	run mail-admin check
	assert_failure 65
	assert_output --partial "missing mail folder for bob@example.test"
	assert_output --partial "1 files not indexed"
	assert_output --partial "mail folder without a mailbox"
	run mail-admin check --repair --json
	assert_success
	run mail-admin check
	assert_failure 65 # the orphan is reported, never deleted
	refute_output --partial "not indexed"
	refute_output --partial "missing mail folder"
	[ -d "$MAIL/ghost" ]
	[ -d "$MAIL/bob/cur" ]
}

@test "configuration errors name the key and line" {
	printf 'state_dir = "/x"\n[delivery]\nbogus = 1\n' > "$FACTEUR_CONFIG"
	run mail-admin domain list
	assert_failure 78
	assert_output --partial "facteur.toml:3: delivery.bogus: unknown key"
	run mail-admin --config /nonexistent/facteur.toml domain list
	assert_failure 78
}

@test "usage errors exit 64" {
	run mail-admin
	assert_failure 64
	run mail-admin domain frobnicate
	assert_failure 64
	run mail-admin --help
	assert_success
}

@test "dkim: generate, list, show, remove; key files readable by the mail user only; records in domain show" {
	run mail-admin dkim generate example.test
	assert_success
	assert_line --partial 'mail._domainkey.example.test. IN TXT "v=DKIM1; k=rsa; p=MIIB'
	key="$FACTEUR_STATE_DIR/dkim/example.test/mail.pem"
	[ "$(stat -c %a "$key")" = 600 ]
	[ "$(stat -c %a "$(dirname "$key")")" = 700 ]
	openssl pkey -in "$key" -noout -text | grep -q "Private-Key: (2048 bit"
	run mail-admin --json dkim generate example.test --selector ed --algorithm ed25519-sha256
	assert_success
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["record"]["name"]=="ed._domainkey.example.test" and r["record"]["value"].startswith("v=DKIM1; k=ed25519; p="), r' "$output"
	run mail-admin dkim generate example.test
	assert_failure 73
	run mail-admin dkim generate example.test --algorithm dsa
	assert_failure 64
	run mail-admin dkim generate nowhere.test
	assert_failure 67
	run mail-admin dkim generate example.test --selector "a/b"
	assert_failure 64
	run mail-admin dkim list
	assert_line --regexp "^example.test	ed	ed25519-sha256	"
	assert_line --regexp "^example.test	mail	rsa-sha256	"
	run mail-admin domain show example.test
	assert_line "example.test. IN MX 10 $(mail-admin --json domain show example.test | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin)["dns"] if r["type"]=="MX"][0]["value"].split()[1])')"
	assert_line 'example.test. IN TXT "v=spf1 mx -all"'
	assert_line --partial 'ed._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p='
	assert_line '_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"'
	run mail-admin dkim remove example.test mail
	assert_success
	[ ! -e "$key" ]
	run mail-admin dkim remove example.test mail
	assert_failure 67
	run mail-admin dkim show example.test
	assert_success
	refute_output --partial "mail._domainkey"
}
