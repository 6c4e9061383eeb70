// index.sqlite's schema, version by version, and the migration that
// brings an older index up to date under one write transaction.
#include "index.hpp"

namespace mail {

namespace {

constexpr int index_version = 6;

const char* schema_v1 = R"(
CREATE TABLE folders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1,
  highestmodseq INTEGER NOT NULL DEFAULT 0,
  subscribed INTEGER NOT NULL DEFAULT 1,
  new_mtime INTEGER NOT NULL DEFAULT 0,
  cur_mtime INTEGER NOT NULL DEFAULT 0);
CREATE TABLE messages(
  folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  base TEXT NOT NULL,
  subdir TEXT NOT NULL,
  flags TEXT NOT NULL DEFAULT '',
  keywords TEXT NOT NULL DEFAULT '',
  modseq INTEGER NOT NULL,
  internaldate INTEGER NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY(folder_id, uid),
  UNIQUE(folder_id, base));
CREATE TABLE cache(
  folder_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  date TEXT, from_ TEXT, to_ TEXT, subject TEXT, message_id TEXT,
  PRIMARY KEY(folder_id, uid));
PRAGMA user_version=1;
)";

// Version 2: the IMAP server's cache (rebuildable): sizes with CRLF line
// ends, ENVELOPE, BODY and BODYSTRUCTURE as sent, and the decoded text
// for SEARCH in an FTS5 table with the trigram tokenizer (substring
// matches, as IMAP SEARCH wants; detail=column keeps it small, so a match
// is a candidate the reader verifies). Its rowid is folder_id << 32 | uid.
// Table fields holds the decoded, case-folded From, To, Cc, Bcc and
// Subject for the SEARCH keys of the same names (text has them too, to
// find candidates by trigrams).
const char* schema_v2 = R"(
CREATE TABLE imap(
  folder_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  body TEXT NOT NULL,
  bodystructure TEXT NOT NULL,
  PRIMARY KEY(folder_id, uid));
CREATE VIRTUAL TABLE text USING fts5(hdr, body, from_, to_, cc, bcc, subject,
  tokenize='trigram', detail='column', columnsize=0);
CREATE TABLE fields(
  folder_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  from_ TEXT, to_ TEXT, cc TEXT, bcc TEXT, subject TEXT,
  PRIMARY KEY(folder_id, uid));
ALTER TABLE folders ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
PRAGMA user_version=2;
)";

// Version 3: the expunge log of CONDSTORE/QRESYNC (RFC 7162): the UID and
// MODSEQ of every message removed, so that a client can be told which of
// the UIDs it knows vanished since its last MODSEQ. A MODSEQ is never 0.
// And the special use a folder was created with (CREATE-SPECIAL-USE).
const char* schema_v3 = R"(
CREATE TABLE expunged(
  folder_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY(folder_id, uid)) WITHOUT ROWID;
UPDATE folders SET highestmodseq=1 WHERE highestmodseq=0;
ALTER TABLE folders ADD COLUMN special_use TEXT NOT NULL DEFAULT '';
PRAGMA user_version=3;
)";

// Version 4: the last UIDVALIDITY given, so that a name deleted and made
// again within one second never gets its old UIDVALIDITY back with UIDs
// that start again at 1 (RFC 3501 2.3.1.1). The search text is made again
// (the address fields now hold the addresses as ENVELOPE reads them).
// Subscriptions get a table of their own, apart from the folders, so that
// DELETE keeps them (RFC 3501 6.3.9): a row is a choice the user made
// (SUBSCRIBE 1, UNSUBSCRIBE 0); a folder without one counts as subscribed.
const char* schema_v4 = R"(
CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters VALUES('uidvalidity', (SELECT coalesce(max(uidvalidity), 0) FROM folders));
CREATE TABLE subscriptions(name TEXT PRIMARY KEY, subscribed INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO subscriptions SELECT name, 0 FROM folders WHERE subscribed=0;
ALTER TABLE folders DROP COLUMN subscribed;
DELETE FROM fields;
DELETE FROM text;
PRAGMA user_version=4;
)";

// METADATA (RFC 5464): annotations by folder name ("" for the server);
// when a folder's files were last listed (scan's max_age).
const char* schema_v5 = R"(
CREATE TABLE metadata(folder TEXT NOT NULL, entry TEXT NOT NULL COLLATE NOCASE, value BLOB NOT NULL,
  PRIMARY KEY(folder, entry)) WITHOUT ROWID;
ALTER TABLE folders ADD COLUMN listed_at INTEGER NOT NULL DEFAULT 0;
PRAGMA user_version=5;
)";

// Version 6: what changed since a MODSEQ (after every command of an IMAP
// session that changed something, another session's or its own) is found
// through an index instead of a pass over every row of the folder.
const char* schema_v6 = R"(
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(folder_id, modseq);
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder_id, modseq);
PRAGMA user_version=6;
)";

} // namespace

Status MailboxIndex::migrate() {
    int v = db_.user_version();
    if (v == index_version) return {};
    if (v > index_version)
        return make_error(Errc::tempfail, "index from a newer facteur",
                          root_ + "/index.sqlite: version " + std::to_string(v));
    Transaction tx(db_);
    MAIL_TRY(tx.begin());
    int now = db_.user_version(); // re-read under the lock
    if (now == 0) MAIL_TRY(db_.exec(schema_v1));
    if (now < 2) MAIL_TRY(db_.exec(schema_v2));
    if (now < 3) MAIL_TRY(db_.exec(schema_v3));
    if (now < 4) MAIL_TRY(db_.exec(schema_v4));
    if (now < 5) MAIL_TRY(db_.exec(schema_v5));
    if (now < 6) MAIL_TRY(db_.exec(schema_v6));
    return tx.commit();
}

} // namespace mail
