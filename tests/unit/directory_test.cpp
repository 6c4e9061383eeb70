// directory.sqlite and recipient resolution: lookups, targets, catch-all,
// subaddresses, loops, and a directory that cannot answer.
#include <gtest/gtest.h>
#include <vector>
#include <sys/stat.h>
#include <memory>

#include <filesystem>
#include <unistd.h>

#include "auth/sasl.hpp"
#include "directory/directory.hpp"
#include "directory/resolve.hpp"

using namespace mail;
namespace fs = std::filesystem;

namespace {

class DirectoryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/directory_test.XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        cfg_.state_dir = tmpl;
        auto d = Directory::open(cfg_.directory_path(), Db::Access::create);
        ASSERT_TRUE(d) << d.error().detail;
        dir_.emplace(std::move(*d));
        ASSERT_TRUE(dir_->add_domain("example.test"));
        ASSERT_TRUE(dir_->add_mailbox(addr("alice@example.test"), "", 0));
        ASSERT_TRUE(dir_->add_mailbox(addr("bob@example.test"), "", 1000));
    }
    void TearDown() override {
        unsetenv("FACTEUR_FAULT");
        fs::remove_all(cfg_.state_dir);
    }
    static Address addr(const char* s) { return *parse_address(s); }
    // The mailboxes and outside addresses an address resolves to.
    std::string resolved(const char* s) {
        auto r = resolve(*dir_, addr(s), cfg_);
        if (!r) return "error " + std::to_string(static_cast<int>(r.error().code));
        std::string out;
        for (auto& t : r->local) out += t.mailbox.str() + (t.folder.empty() ? "" : "+" + t.folder) + " ";
        for (auto& e : r->external) out += "ext:" + e + " ";
        return out;
    }
    Config cfg_;
    std::optional<Directory> dir_;
};

} // namespace

TEST_F(DirectoryTest, LookupIsCaseInsensitiveOnTheLocalPart) {
    auto e = dir_->lookup(addr("Alice@Example.TEST"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->address.str(), "alice@example.test");
    EXPECT_EQ(e->kind, AddressKind::mailbox);
    EXPECT_EQ(dir_->lookup(addr("bob@example.test"))->quota, 1000u);
    auto none = dir_->lookup(addr("nobody@example.test"));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::nouser);
    EXPECT_TRUE(*dir_->has_domain("example.test"));
    EXPECT_FALSE(*dir_->has_domain("elsewhere.test"));
}

TEST_F(DirectoryTest, AliasesGroupsCatchAllAndSubaddresses) {
    ASSERT_TRUE(dir_->add_targets(addr("sales@example.test"), AddressKind::alias, {"alice@example.test", "out@elsewhere.test"}, true));
    ASSERT_TRUE(dir_->add_targets(addr("team@example.test"), AddressKind::group, {"alice@example.test", "bob@example.test"}, true));
    ASSERT_TRUE(dir_->add_targets(addr("all@example.test"), AddressKind::alias, {"team@example.test"}, true));
    struct {
        const char* rcpt;
        std::string want;
    } cases[] = {
        {"alice@example.test", "alice@example.test "},
        {"alice+Work@example.test", "alice@example.test+Work "},
        {"sales@example.test", "alice@example.test ext:out@elsewhere.test "},
        {"team@example.test", "alice@example.test bob@example.test "},
        {"all@example.test", "alice@example.test bob@example.test "},
        {"nobody@example.test", "error 67"},
        {"alice@elsewhere.test", "error 67"},
    };
    for (auto& c : cases) EXPECT_EQ(resolved(c.rcpt), c.want) << c.rcpt;
    // A catch-all takes what no address names.
    ASSERT_TRUE(dir_->add_targets(Address{"", "example.test"}, AddressKind::alias, {"bob@example.test"}, true));
    EXPECT_EQ(resolved("nobody@example.test"), "bob@example.test ");
    EXPECT_EQ(resolved("alice@example.test"), "alice@example.test ");
}

TEST_F(DirectoryTest, AliasCycleIsDataError) {
    ASSERT_TRUE(dir_->add_targets(addr("a@example.test"), AddressKind::alias, {"b@example.test"}, true));
    ASSERT_TRUE(dir_->add_targets(addr("b@example.test"), AddressKind::alias, {"a@example.test"}, true));
    EXPECT_EQ(resolved("a@example.test"), "error 65");
}

// One password hash per online CPU at a time: the lock files of auth/.
TEST_F(DirectoryTest, HashSlotsAreOnePerCpu) {
    std::string dir = cfg_.state_dir + "/auth";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    std::vector<std::unique_ptr<HashSlot>> held;
    for (long i = 0; i < cpus; i++) {
        held.push_back(std::make_unique<HashSlot>(dir, false));
        EXPECT_TRUE(held.back()->held()) << i;
    }
    EXPECT_FALSE(HashSlot(dir, false).held()); // every CPU hashing: the next one would wait
    held.pop_back();
    EXPECT_TRUE(HashSlot(dir, false).held());  // one freed
    // Where no lock file can be made, no limit (and no wait).
    EXPECT_FALSE(HashSlot(cfg_.state_dir + "/missing", true).held());
    // A login takes a slot while it hashes and gives it back.
    held.clear();
    ASSERT_TRUE(check_login(cfg_, *dir_, "alice@example.test", "whatever"));
    for (long i = 0; i < cpus; i++) held.push_back(std::make_unique<HashSlot>(dir, false));
    EXPECT_TRUE(held.back()->held());
}

// A directory that cannot answer is a temporary failure, not "no such user"
// and not a wrong password (mail-smtpd answers 454, mail-imapd NO [UNAVAILABLE]).
TEST_F(DirectoryTest, UnavailableDirectoryIsTemporary) {
    setenv("FACTEUR_FAULT", "lookup", 1);
    auto e = dir_->lookup(addr("alice@example.test"));
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, Errc::tempfail);
    auto login = check_login(cfg_, *dir_, "alice@example.test", "whatever");
    ASSERT_FALSE(login);
    EXPECT_EQ(login.error().code, Errc::tempfail);
    unsetenv("FACTEUR_FAULT");
    auto wrong = check_login(cfg_, *dir_, "alice@example.test", "whatever");
    ASSERT_TRUE(wrong);
    EXPECT_FALSE(*wrong); // now simply a wrong password (none is set)
}
