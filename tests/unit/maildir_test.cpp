#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/files.hpp"
#include "base/sqlite.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

using namespace mail;
namespace fs = std::filesystem;

TEST(Maildir, NamesTable) {
    struct {
        const char* name;
        const char* base;
        const char* flags;
    } cases[] = {
        {"123.M1P2Q3.host", "123.M1P2Q3.host", ""},
        {"123.M1P2Q3.host:2,", "123.M1P2Q3.host", ""},
        {"123.M1P2Q3.host:2,SRF", "123.M1P2Q3.host", "FRS"},
        {"123.M1P2Q3.host:2,SSa?", "123.M1P2Q3.host", "Sa"},
        {"123.host:1,xyz", "123.host", ""},
    };
    for (auto& c : cases) {
        auto n = maildir::split_name(c.name);
        EXPECT_EQ(n.base, c.base) << c.name;
        EXPECT_EQ(n.flags, c.flags) << c.name;
    }
    EXPECT_EQ(maildir::join_name({"b", "FS"}), "b:2,FS");
}

TEST(Maildir, UniqueNames) {
    auto a = maildir::unique_name("host/x:y", 42);
    auto b = maildir::unique_name("host/x:y", 42);
    EXPECT_NE(a, b);
    EXPECT_NE(a.find("host\\057x\\072y,S=42"), std::string::npos) << a;
    EXPECT_EQ(maildir::size_from_name(a), 42);
    EXPECT_EQ(maildir::size_from_name("x"), -1);
}

TEST(Maildir, FolderNames) {
    struct {
        const char* name;
        bool ok;
    } cases[] = {
        {"INBOX", true}, {"inbox", true}, {"Sent", true}, {"Work/Clients", true},
        {"..", false}, {"a/../b", false}, {"/abs", false}, {"a//b", false}, {"a/", false},
        {"~root", false}, {"new", false}, {"a/cur", false}, {"tmp", false}, {"a.b", false},
        {"a\nb", false}, {"Café", true},
    };
    for (auto& c : cases) EXPECT_EQ(maildir::valid_folder_name(c.name), c.ok) << c.name;
    EXPECT_EQ(maildir::folder_path("/m", "Work/Clients"), "/m/.Work.Clients");
    EXPECT_EQ(maildir::folder_path("/m", "INBOX"), "/m");
}

class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/facteur-unit-XXXXXX";
        root_ = mkdtemp(tmpl);
        ASSERT_TRUE(maildir::create_mailbox(root_));
    }
    void TearDown() override { fs::remove_all(root_); }
    std::string root_;
};

TEST_F(StoreTest, DeliverIndexAndScan) {
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(idx);
    auto name = maildir::deliver(root_, "h", {"Subject: one\n\nbody\n"});
    ASSERT_TRUE(name);
    auto uid = idx->add_delivered("INBOX", *name, 20, 1, cache_fields("Subject: one\n\n"));
    ASSERT_TRUE(uid);
    EXPECT_EQ(*uid, 1);
    // Idempotent for the same file.
    EXPECT_EQ(*idx->add_delivered("INBOX", *name, 20, 1, {}), 0);

    // A file from another tool, and a flag change by another tool.
    ASSERT_TRUE(durable_write(root_ + "/tmp/x", root_ + "/cur/999.other:2,S", {"X: y\n\n"}));
    fs::rename(root_ + "/new/" + *name, root_ + "/cur/" + *name + ":2,FS");
    auto rep = idx->scan("INBOX", true);
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->added, 1);
    EXPECT_EQ(rep->changed, 1);
    auto msgs = idx->messages("INBOX");
    ASSERT_EQ(msgs->size(), 2u);
    EXPECT_EQ((*msgs)[0].uid, 1);
    EXPECT_EQ((*msgs)[0].flags, "FS");
    EXPECT_EQ((*msgs)[1].uid, 2);
    EXPECT_EQ((*msgs)[1].size, 6);

    // Removal by another tool drops the entry; UIDs are never reused.
    fs::remove(root_ + "/cur/999.other:2,S");
    rep = idx->scan("INBOX", true);
    EXPECT_EQ(rep->removed, 1);
    ASSERT_TRUE(durable_write(root_ + "/tmp/y", root_ + "/new/1000.other", {"Y: z\n\n"}));
    ASSERT_TRUE(idx->scan("INBOX", true));
    msgs = idx->messages("INBOX");
    EXPECT_EQ(msgs->back().uid, 3);
    EXPECT_EQ(*idx->total_size(), 20 + 6);
}

TEST_F(StoreTest, ModseqsAndExpungeLog) {
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(idx);
    auto f = idx->folder("INBOX");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->highestmodseq, 1); // never 0 (RFC 7162 wants a positive HIGHESTMODSEQ)
    for (const char* s : {"A: 1\n\n", "A: 2\n\n", "A: 3\n\n"}) {
        auto name = maildir::deliver(root_, "h", {s});
        ASSERT_TRUE(name);
        ASSERT_TRUE(idx->add_delivered("INBOX", *name, 6, 1, {}));
    }
    auto msgs = idx->messages("INBOX");
    ASSERT_EQ(msgs->size(), 3u);
    EXPECT_EQ((*msgs)[2].modseq, 4);
    // A flag change gets the next MODSEQ, and says which.
    auto m = idx->set_flags(idx->folder("INBOX")->id, 1, "new", "", "$Label");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, 5);
    EXPECT_EQ(*idx->set_flags(idx->folder("INBOX")->id, 99, "new", "", ""), 0); // no such UID
    // Removals are logged with their MODSEQ: by this process, and by a scan.
    fs::remove(root_ + "/new/" + (*msgs)[1].base);
    ASSERT_TRUE(idx->remove(idx->folder("INBOX")->id, {2}));
    fs::remove(root_ + "/new/" + (*msgs)[2].base);
    ASSERT_TRUE(idx->scan("INBOX", true));
    auto id = idx->folder("INBOX")->id;
    EXPECT_EQ(*idx->expunged_since(id, 0), (std::vector<int64_t>{2, 3}));
    int64_t top = idx->folder("INBOX")->highestmodseq;
    EXPECT_EQ(*idx->expunged_since(id, top - 1), (std::vector<int64_t>{3}));
    EXPECT_TRUE(idx->expunged_since(id, top)->empty());
    // A dropped folder takes its log along; a new one starts clean.
    ASSERT_TRUE(fs::create_directories(root_ + "/.Work/cur"));
    auto w = idx->folder("Work");
    ASSERT_TRUE(w);
    ASSERT_TRUE(idx->drop_folder("Work"));
    auto again = idx->folder("Work");
    ASSERT_TRUE(again);
    EXPECT_TRUE(idx->expunged_since(again->id, 0)->empty());
    // Made again within the same second: never the old UIDVALIDITY (RFC 3501 2.3.1.1).
    EXPECT_GT(again->uidvalidity, w->uidvalidity);
    ASSERT_TRUE(idx->drop_folder("Work"));
    EXPECT_GT(idx->folder("Work")->uidvalidity, again->uidvalidity);
}

TEST_F(StoreTest, UnsyncedTransactionsSetTheLevelBack) {
    auto db = Db::open(root_ + "/t.sqlite", Db::Sync::full, Db::Access::create);
    ASSERT_TRUE(db);
    auto level = [&] {
        auto st = db->prepare("PRAGMA synchronous");
        EXPECT_TRUE(st && *st->step());
        return st->int64(0);
    };
    ASSERT_TRUE(db->exec("CREATE TABLE t(x)"));
    {
        Transaction tx(*db);
        ASSERT_TRUE(tx.begin_unsynced());
        EXPECT_EQ(level(), 1); // NORMAL for this one
        ASSERT_TRUE(db->exec("INSERT INTO t VALUES(1)"));
        ASSERT_TRUE(tx.commit());
    }
    EXPECT_EQ(level(), 2); // FULL again
    {
        Transaction tx(*db);
        ASSERT_TRUE(tx.begin_unsynced());
    } // rolled back: set back too
    EXPECT_EQ(level(), 2);
}

TEST_F(StoreTest, MetadataFollowsRenameAndDelete) {
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(idx);
    ASSERT_TRUE(*idx->set_metadata("Work", {{"/private/comment", "w"}, {"/shared/x", "s"}}, 10));
    ASSERT_TRUE(*idx->set_metadata("Work/Sub", {{"/private/comment", "ws"}}, 10));
    EXPECT_FALSE(*idx->set_metadata("Other", {{"/private/a", "1"}, {"/private/b", "2"}}, 4)); // 5 > 4
    EXPECT_TRUE(idx->metadata("Other")->empty());                                              // nothing kept
    ASSERT_TRUE(idx->rename_folder("Work", "Job"));
    EXPECT_TRUE(idx->metadata("Work")->empty());
    EXPECT_EQ(idx->metadata("Job")->size(), 2u);
    EXPECT_EQ((*idx->metadata("Job/Sub"))[0].second, "ws");
    ASSERT_TRUE(*idx->set_metadata("Job", {{"/PRIVATE/Comment", std::nullopt}}, 10)); // names without case
    EXPECT_EQ(idx->metadata("Job")->size(), 1u);
    ASSERT_TRUE(idx->drop_folder("Job"));
    EXPECT_TRUE(idx->metadata("Job")->empty());
    EXPECT_EQ(idx->metadata("Job/Sub")->size(), 1u); // a child stays with its folder
}

TEST_F(StoreTest, IndexVersion2IsMigrated) {
    {
        auto idx = MailboxIndex::open(root_);
        ASSERT_TRUE(idx);
        ASSERT_TRUE(idx->folder("INBOX"));
        // as a version-2 index left it: no expunge log, HIGHESTMODSEQ 0
        auto db = Db::open(root_ + "/index.sqlite", Db::Sync::full, Db::Access::read_write);
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("DROP INDEX messages_modseq; DROP TABLE expunged; DROP TABLE counters; DROP TABLE subscriptions; DROP TABLE metadata; "
                             "ALTER TABLE folders ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1; "
                             "INSERT INTO folders(name, uidvalidity, subscribed) VALUES('Hidden', 1, 0); "
                             "ALTER TABLE folders DROP COLUMN special_use; ALTER TABLE folders DROP COLUMN listed_at; "
                                   "UPDATE folders SET highestmodseq=0; PRAGMA user_version=2"));
    }
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(idx);
    EXPECT_EQ(Db::open(root_ + "/index.sqlite", Db::Sync::full, Db::Access::read_only)->user_version(), 6);
    EXPECT_EQ(idx->folder("INBOX")->highestmodseq, 1);
    // The UIDVALIDITY counter starts past the highest one given.
    int64_t inbox = idx->folder("INBOX")->uidvalidity;
    EXPECT_GT(idx->folder("Later")->uidvalidity, inbox);
    // An unsubscribed folder stays unsubscribed.
    auto subs = idx->subscriptions();
    ASSERT_TRUE(subs);
    EXPECT_EQ(*subs, (std::map<std::string, bool>{{"Hidden", false}}));
    EXPECT_TRUE(idx->expunged_since(idx->folder("INBOX")->id, 0)->empty());
}

TEST_F(StoreTest, FileInCurWithoutInfoIsIndexed) {
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(durable_write(root_ + "/tmp/x", root_ + "/cur/5.bare", {"A: b\n\n"}));
    auto rep = idx->scan("INBOX", true);
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->added, 1);
    auto msgs = idx->messages("INBOX");
    ASSERT_EQ(msgs->size(), 1u);
    EXPECT_EQ((*msgs)[0].size, 6);
    EXPECT_EQ(idx->scan("INBOX", true)->changed, 0);
}

TEST_F(StoreTest, DryRunChangesNothing) {
    auto idx = MailboxIndex::open(root_);
    ASSERT_TRUE(durable_write(root_ + "/tmp/x", root_ + "/new/1.a", {"A: b\n\n"}));
    auto rep = idx->scan("INBOX", true, true);
    EXPECT_EQ(rep->added, 1);
    EXPECT_TRUE(idx->messages("INBOX")->empty());
}

TEST_F(StoreTest, DeletedIndexLosesNoMail) {
    {
        auto idx = MailboxIndex::open(root_);
        auto name = maildir::deliver(root_, "h", {"A: b\n\n"});
        ASSERT_TRUE(idx->add_delivered("INBOX", *name, 6, 1, {}));
    }
    fs::remove(root_ + "/index.sqlite");
    fs::remove(root_ + "/index.sqlite-wal");
    fs::remove(root_ + "/index.sqlite-shm");
    auto idx = MailboxIndex::open(root_);
    auto rep = idx->scan("INBOX", false);
    EXPECT_EQ(rep->added, 1);
}

TEST_F(StoreTest, FaultsAreTemporaryAndLeaveNothing) {
    for (const char* op : {"write", "fsync", "rename", "dirsync"}) {
        setenv("FACTEUR_FAULT", op, 1);
        auto name = maildir::deliver(root_, "h", {"A: b\n\n"});
        unsetenv("FACTEUR_FAULT");
        ASSERT_FALSE(name) << op;
        EXPECT_EQ(name.error().code, Errc::tempfail) << op;
        EXPECT_TRUE(fs::is_empty(root_ + "/new")) << op;
        EXPECT_TRUE(fs::is_empty(root_ + "/tmp")) << op;
    }
}

// Each delivery is its own process and does not checkpoint at close; the
// WAL must still stay short (truncated after commits), or every new
// process would re-read a growing WAL.
TEST_F(StoreTest, WalStaysShortAcrossProcesses) {
    for (int i = 0; i < 200; i++) {
        auto idx = MailboxIndex::open(root_); // a fresh connection, as in a new process
        ASSERT_TRUE(idx);
        ASSERT_TRUE(idx->add_delivered("INBOX", "msg" + std::to_string(i), 10, 1,
                                       {"date", "from", "to", "subject", "id"}));
    }
    auto wal = fs::file_size(root_ + "/index.sqlite-wal");
    EXPECT_LT(wal, 160u * 4120u) << "WAL of " << wal << " bytes";
    auto idx = MailboxIndex::open(root_);
    EXPECT_EQ(idx->messages("INBOX")->size(), 200u);
}

// The one Maildir writer: streamed, flags into cur/, a batch synced once.
TEST_F(StoreTest, MessageFileStreamsAndPlacesByFlags) {
    maildir::DirSync dirs;
    auto plain = maildir::MessageFile::create(root_, "h", "t1");
    ASSERT_TRUE(plain);
    ASSERT_TRUE(plain->write("Subject: a\n\n"));
    ASSERT_TRUE(plain->write("body\n"));
    EXPECT_EQ(plain->size(), 17u);
    auto a = plain->commit("", false, &dirs);
    ASSERT_TRUE(a);
    EXPECT_NE(a->find("_t1."), std::string::npos);
    EXPECT_EQ(maildir::size_from_name(*a), 17);
    EXPECT_TRUE(fs::exists(root_ + "/new/" + *a));
    auto flagged = maildir::MessageFile::create(root_, "h");
    ASSERT_TRUE(flagged);
    ASSERT_TRUE(flagged->write("X: 1\n\n"));
    auto b = flagged->commit("FS", false, &dirs);
    ASSERT_TRUE(b);
    EXPECT_TRUE(fs::exists(root_ + "/cur/" + *b + ":2,FS"));
    auto keyword_only = maildir::MessageFile::create(root_, "h"); // IMAP keywords: cur/ without letters
    ASSERT_TRUE(keyword_only->write("X: 2\n\n"));
    auto c = keyword_only->commit("", true);
    ASSERT_TRUE(c);
    EXPECT_TRUE(fs::exists(root_ + "/cur/" + *c + ":2,"));
    ASSERT_TRUE(dirs.sync());
    EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
    { // never committed: nothing is left in tmp/
        auto dropped = maildir::MessageFile::create(root_, "h");
        ASSERT_TRUE(dropped->write("X: 3\n\n"));
    }
    EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
}

// A name that is taken is never replaced: the synced file waits in tmp/
// for another name.
TEST_F(StoreTest, CommitNewNeverReplaces) {
    ASSERT_TRUE(durable_write(root_ + "/tmp/a", root_ + "/new/taken", {"old\n"}));
    auto f = DurableFile::create(root_ + "/tmp/b");
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("new\n"));
    Status st = f->commit_new(root_ + "/new/taken");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::cantcreat);
    EXPECT_EQ(*read_file(root_ + "/new/taken", 100), "old\n");
    ASSERT_TRUE(f->commit_new(root_ + "/new/other"));
    EXPECT_EQ(*read_file(root_ + "/new/other", 100), "new\n");
    EXPECT_FALSE(fs::exists(root_ + "/tmp/b"));
}
