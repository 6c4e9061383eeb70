// The delivery pipeline (deliver/pipeline.hpp): the default steps in their
// order, and steps plugged in before and after the store.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "base/files.hpp"
#include "deliver/deliver.hpp"
#include "store/maildir.hpp"

using namespace mail;
namespace fs = std::filesystem;

namespace {

class DeliverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/deliver_test.XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        cfg_.state_dir = tmpl;
        auto d = Directory::open(cfg_.directory_path(), Db::Access::create);
        ASSERT_TRUE(d) << d.error().detail;
        dir_.emplace(std::move(*d));
        ASSERT_TRUE(dir_->add_domain("example.test"));
        ASSERT_TRUE(dir_->add_mailbox(*parse_address("alice@example.test"), "", 0));
        ASSERT_TRUE(dir_->add_mailbox(*parse_address("bob@example.test"), "", 50));
    }
    void TearDown() override { fs::remove_all(cfg_.state_dir); }
    std::string root(const std::string& local) { return cfg_.mail_root() + "/example.test/" + local; }
    size_t files(const std::string& path) {
        size_t n = 0;
        if (fs::exists(path))
            for ([[maybe_unused]] auto& e : fs::directory_iterator(path)) n++;
        return n;
    }
    Config cfg_;
    std::optional<Directory> dir_;
};

// A step that does what a filter may: choose a folder and flags, add a line.
class FileIntoWork : public DeliveryStep {
  public:
    std::string_view name() const override { return "test-filter"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        d.folders = {"Archive"};
        d.flags = "F";
        d.header = "X-Filed: yes\n";
        return std::nullopt;
    }
};

class Discard : public DeliveryStep {
  public:
    std::string_view name() const override { return "test-discard"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        d.discard = true;
        return std::nullopt;
    }
};

// An after-store step in trouble, and one that counts its runs.
class Broken : public DeliveryStep {
  public:
    explicit Broken(int& runs) : runs_(runs) {}
    std::string_view name() const override { return "test-broken"; }
    When when() const override { return When::after_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        runs_++;
        return temporary(d.mailbox, make_error(Errc::tempfail, "webhook down"));
    }

  private:
    int& runs_;
};

const std::string message = "From: a@b.test\nSubject: hi\n\nbody\n";

} // namespace

TEST_F(DeliverTest, DefaultStepsStoreIntoInbox) {
    LocalDelivery agent(cfg_, *dir_);
    auto r = agent.deliver(message, "a@b.test", {"alice@example.test"});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].ok());
    EXPECT_EQ(r[0].dsn, "2.0.0");
    EXPECT_EQ(files(root("alice") + "/new"), 1u);
    EXPECT_EQ(exit_code(r), 0);
}

TEST_F(DeliverTest, AStepChoosesFolderFlagsAndHeader) {
    LocalDelivery agent(cfg_, *dir_);
    agent.insert_step("mailbox", std::make_unique<FileIntoWork>());
    auto r = agent.deliver(message, "a@b.test", {"alice@example.test"});
    ASSERT_TRUE(r[0].ok()) << r[0].text;
    EXPECT_EQ(files(root("alice") + "/new"), 0u);
    std::string cur = root("alice") + "/.Archive/cur";
    ASSERT_EQ(files(cur), 1u);
    auto entry = *fs::directory_iterator(cur);
    EXPECT_TRUE(entry.path().filename().string().ends_with(":2,F"));
    auto text = read_file(entry.path().string(), 1 << 20);
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("Delivered-To: alice@example.test\nX-Filed: yes\nFrom: a@b.test"), std::string::npos);
    auto idx = MailboxIndex::open(root("alice"));
    auto msgs = idx->messages("Archive");
    ASSERT_EQ(msgs->size(), 1u);
    EXPECT_EQ((*msgs)[0].flags, "F");
}

TEST_F(DeliverTest, DiscardStoresNothingAndRunsNoLaterStep) {
    int runs = 0;
    LocalDelivery agent(cfg_, *dir_);
    agent.insert_step("store", std::make_unique<Discard>());
    agent.insert_step("", std::make_unique<Broken>(runs));
    auto r = agent.deliver(message, "a@b.test", {"alice@example.test"});
    EXPECT_TRUE(r[0].ok());
    EXPECT_EQ(files(root("alice") + "/new"), 0u);
    EXPECT_EQ(runs, 0);
}

TEST_F(DeliverTest, TroubleAfterTheStoreNeverFailsTheDelivery) {
    int runs = 0;
    LocalDelivery agent(cfg_, *dir_);
    agent.insert_step("", std::make_unique<Broken>(runs));
    auto r = agent.deliver(message, "a@b.test", {"alice@example.test"});
    EXPECT_TRUE(r[0].ok());
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(files(root("alice") + "/new"), 1u);
}

TEST_F(DeliverTest, RefusalsAreResultsWithTheirDsn) {
    LocalDelivery agent(cfg_, *dir_);
    auto r = agent.deliver(message, "a@b.test", {"nobody@example.test", "bob@example.test", "not an address"});
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].code(), Errc::nouser);
    EXPECT_EQ(r[0].dsn, "5.1.1");
    EXPECT_TRUE(r[1].temporary()); // bob's quota is 50 bytes
    EXPECT_EQ(r[1].dsn, "4.2.2");
    EXPECT_EQ(r[2].code(), Errc::data);
    EXPECT_EQ(exit_code(r), 75); // anything temporary: the sender retries
    // The loop step: our own Delivered-To comes back.
    auto looped = agent.deliver("Delivered-To: alice@example.test\n" + message, "a@b.test", {"alice@example.test"});
    EXPECT_EQ(looped[0].dsn, "5.4.6");
}

TEST_F(DeliverTest, OneCopyPerMailboxPerMessage) {
    ASSERT_TRUE(dir_->add_targets(*parse_address("team@example.test"), AddressKind::alias, {"alice@example.test"}, true));
    LocalDelivery agent(cfg_, *dir_);
    auto r = agent.deliver(message, "a@b.test", {"alice@example.test", "team@example.test"});
    EXPECT_TRUE(r[0].ok());
    EXPECT_TRUE(r[1].ok());
    EXPECT_EQ(files(root("alice") + "/new"), 1u);
}

// Safe first: the caller hears of the stored copies before any index
// update; kept messages are indexed together, in order, at finish().
TEST_F(DeliverTest, KeptMessagesAreIndexedTogetherAfterTheCallerIsTold) {
    int runs = 0;
    LocalDelivery agent(cfg_, *dir_);
    agent.insert_step("", std::make_unique<Broken>(runs));
    agent.keep_after_store(3, 1 << 20);
    for (int i = 0; i < 2; i++) {
        bool told = false;
        auto r = agent.deliver(message, "a@b.test", {"alice@example.test"}, [&](const std::vector<RecipientStatus>& s) {
            told = true;
            ASSERT_EQ(s.size(), 1u);
            EXPECT_TRUE(s[0].ok());
            EXPECT_EQ(files(root("alice") + "/new"), static_cast<size_t>(i + 1)); // already safe
        });
        EXPECT_TRUE(told);
        EXPECT_TRUE(r[0].ok());
    }
    EXPECT_TRUE(agent.pending());
    auto idx = MailboxIndex::open(root("alice"));
    ASSERT_TRUE(idx);
    EXPECT_EQ(*idx->total_messages(), 0);
    EXPECT_EQ(runs, 0);
    agent.finish();
    EXPECT_FALSE(agent.pending());
    auto msgs = idx->messages("");
    ASSERT_EQ(msgs->size(), 2u);
    EXPECT_EQ((*msgs)[0].uid, 1);
    EXPECT_EQ((*msgs)[1].uid, 2);
    EXPECT_EQ(runs, 2);
    // The third kept message is the last one allowed: done at once.
    for (int i = 0; i < 3; i++) agent.deliver(message, "a@b.test", {"alice@example.test"});
    EXPECT_FALSE(agent.pending());
    auto all = idx->messages("");
    ASSERT_TRUE(all) << all.error().detail;
    EXPECT_EQ(all->size(), 5u);
}
