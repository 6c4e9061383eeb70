#!/usr/bin/env bats
# kill -9 safety of the SMTP path: mail-smtpd connection processes and
# mail-queue run are killed at random moments while 1,000 messages arrive.
# Every message answered 250 is delivered at least once and whole.

load helper

setup() { setup_smtp; }

@test "1,000 messages, random SIGKILLs: nothing acknowledged is lost or truncated" {
	CRASH_LOG="$BATS_TEST_TMPDIR/crash.log" run python3 "$BATS_TEST_DIRNAME/smtp_crash.py" "$BUILD/tools" "$MAIL/alice" 1000
	echo "$output"
	assert_success
	assert_output --regexp "lost 0, truncated 0"
	[ "$(queued_files | wc -l)" -eq 0 ]
}
