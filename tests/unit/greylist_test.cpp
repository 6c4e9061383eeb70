// Greylisting's decisions (smtpd/greylist.hpp) with the clock set by the
// test: new, too early, retried, passed, retried too late, trusted
// networks, expiry, the cap on triplets.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "smtpd/greylist.hpp"
#include "smtpd/ratelimit.hpp"

using namespace mail;
using namespace mail::smtp;
namespace fs = std::filesystem;

class Greylist : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/greylist_test.XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        cfg_.state_dir = tmpl;
        cfg_.greylist.enabled = true;
        cfg_.greylist.trust_after = 2;
        auto d = open_greylist(cfg_);
        ASSERT_TRUE(d) << d.error().detail;
        db_.emplace(std::move(*d));
    }
    void TearDown() override { fs::remove_all(cfg_.state_dir); }
    GreylistVerdict at(int64_t t, const std::string& ip, const std::string& rcpt, const std::string& sender = "a@x.test") {
        auto v = greylist(*db_, cfg_, ip, sender, rcpt, t);
        EXPECT_TRUE(v) << v.error().detail;
        return v ? *v : GreylistVerdict{};
    }
    Config cfg_;
    std::optional<Db> db_;
    const int64_t t0 = 1800000000;
};

TEST_F(Greylist, NetworksOfClients) {
    EXPECT_EQ(client_network("192.0.2.77"), "192.0.2.0/24");
    EXPECT_EQ(client_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    EXPECT_EQ(client_network("nonsense"), "");
}

TEST_F(Greylist, FirstAttemptWaitsThenARetryInTheWindowPasses) {
    auto v = at(t0, "192.0.2.1", "bob@example.test");
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.wait, 300);
    EXPECT_EQ(v.why, "new");
    v = at(t0 + 100, "192.0.2.9", "Bob@example.test"); // same /24, same triplet
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.wait, 200);
    EXPECT_EQ(v.why, "too early");
    v = at(t0 + 301, "192.0.2.1", "bob@example.test");
    EXPECT_TRUE(v.pass);
    EXPECT_EQ(v.why, "retried");
    EXPECT_TRUE(at(t0 + 5000, "192.0.2.1", "bob@example.test").pass); // from then on
    EXPECT_FALSE(at(t0 + 5000, "192.0.2.1", "carol@example.test").pass); // another triplet
    EXPECT_FALSE(at(t0 + 5000, "198.51.100.1", "bob@example.test").pass); // another network
    EXPECT_FALSE(at(t0 + 5000, "192.0.2.1", "bob@example.test", "other@x.test").pass); // another sender
    // Retried after the window (2 days): a new first attempt.
    v = at(t0 + 5000 + 3 * 86400, "198.51.100.1", "bob@example.test");
    EXPECT_FALSE(v.pass);
    EXPECT_EQ(v.why, "retried after the window");
    EXPECT_TRUE(at(t0 + 5000 + 3 * 86400 + 300, "198.51.100.1", "bob@example.test").pass);
}

TEST_F(Greylist, NetworksThatRetriedAreTrustedAndWhatIsUnusedExpires) {
    for (const char* rcpt : {"a@example.test", "b@example.test"}) {
        EXPECT_FALSE(at(t0, "203.0.113.5", rcpt).pass);
        EXPECT_TRUE(at(t0 + 400, "203.0.113.5", rcpt).pass);
    }
    auto v = at(t0 + 500, "203.0.113.200", "new@example.test");
    EXPECT_TRUE(v.pass);
    EXPECT_EQ(v.why, "trusted client network");
    // 36 days without mail: the trust and the triplets are gone.
    int64_t later = t0 + 500 + 36 * 86400;
    EXPECT_FALSE(at(later, "203.0.113.5", "a@example.test").pass);
    EXPECT_EQ(at(later + 1, "203.0.113.5", "c@example.test").why, "new");
}

TEST_F(Greylist, TripletsAreCapped) {
    cfg_.greylist.max_entries = 100;
    for (int i = 0; i < 150; i++) at(t0 + i, "192.0.2.1", "r" + std::to_string(i) + "@example.test");
    auto st = db_->prepare("SELECT count(*) FROM triplets");
    ASSERT_TRUE(st);
    ASSERT_TRUE(*st->step());
    EXPECT_EQ(st->int64(0), 100);
    // The oldest went: the first 50.
    EXPECT_EQ(at(t0 + 200, "192.0.2.1", "r0@example.test").why, "new");
    EXPECT_EQ(at(t0 + 500, "192.0.2.1", "r149@example.test").why, "retried");
}

TEST_F(Greylist, RateLimitsCountInWindowsPerNetworkSize) {
    auto d = open_ratelimit(cfg_);
    ASSERT_TRUE(d) << d.error().detail;
    Db& db = *d;
    int limits[3] = {2, 3, 0};
    auto a = client_keys("msg", "192.0.2.1", limits);
    ASSERT_EQ(a.size(), 2u); // 0: no limit at /21
    EXPECT_EQ(a[0].key, "msg 192.0.2.1/32");
    EXPECT_EQ(a[1].key, "msg 192.0.2.0/26");
    EXPECT_EQ(client_keys("msg", "2001:db8:1:2:3::1", limits)[1].key, "msg 2001:db8:1::/48");
    auto b = client_keys("msg", "192.0.2.2", limits); // same /26
    int64_t t = 1800000000 - 1800000000 % 3600;
    auto take = [&](const std::vector<RateKey>& k, int64_t now) {
        auto r = rate_take(db, k, 3600, now);
        EXPECT_TRUE(r);
        return r && !*r;
    };
    EXPECT_TRUE(take(a, t));
    EXPECT_TRUE(take(a, t + 10));
    EXPECT_FALSE(take(a, t + 20)); // the /32's 2
    EXPECT_TRUE(take(b, t + 30));  // another /32, the /26's third
    EXPECT_FALSE(take(b, t + 40)); // the /26 is full
    auto n = rate_count(db, "msg 192.0.2.0/26", 3600, t + 50);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3); // refused attempts are not counted
    EXPECT_TRUE(take(a, t + 3600)); // a new hour
}
