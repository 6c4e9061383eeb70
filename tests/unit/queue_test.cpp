#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "base/clock.hpp"
#include "directory/directory.hpp"
#include "queue/bounce.hpp"
#include "queue/runner.hpp"
#include "queue/schedule.hpp"
#include "spool/envelope.hpp"
#include "spool/spool.hpp"

using namespace mail;
using namespace mail::queue;

TEST(QueueEnvelope, RoundTrip) {
    Envelope e;
    e.id = "1.2.P3Q4";
    e.arrived = 1764410000;
    e.sender = "alice@example.test";
    e.ret = "HDRS";
    e.envid = "abc+2B1";
    e.body = "8BITMIME";
    e.smtputf8 = true;
    e.rcpts = {{"\"bob smith\"@example.test", "NEVER", ""}, {"c@x.test", "", "rfc822;c@x.test"}};
    e.client = "ip=127.0.0.1 helo=x tls=- auth=-";
    std::string file = format_envelope(e) + "Subject: s\n\nbody\n";
    size_t body = 0;
    auto p = parse_envelope(file, body);
    ASSERT_TRUE(p);
    EXPECT_EQ(file.substr(body), "Subject: s\n\nbody\n");
    EXPECT_EQ(p->id, e.id);
    EXPECT_EQ(p->arrived, e.arrived);
    EXPECT_EQ(p->sender, e.sender);
    EXPECT_EQ(p->ret, "HDRS");
    EXPECT_EQ(p->envid, "abc+2B1");
    EXPECT_EQ(p->body, "8BITMIME");
    EXPECT_TRUE(p->smtputf8);
    ASSERT_EQ(p->rcpts.size(), 2u);
    EXPECT_EQ(p->rcpts[0].address, "\"bob smith\"@example.test");
    EXPECT_EQ(p->rcpts[0].notify, "NEVER");
    EXPECT_EQ(p->rcpts[1].orcpt, "rfc822;c@x.test");
    EXPECT_EQ(p->client, e.client);
}

TEST(QueueEnvelope, NullSenderAndBadFiles) {
    size_t body = 0;
    auto p = parse_envelope("facteur-queue 1\nid x\nfrom\t\nrcpt\ta@b.test\n\nmsg", body);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->sender, "");
    for (const char* bad : {"", "facteur-queue 2\nid x\nfrom\ta\nrcpt\tb\n\n",
                            "facteur-queue 1\nid x\nfrom\ta\n\n", "facteur-queue 1\nfrom\ta\nrcpt\tb\n\n",
                            "facteur-queue 1\nid x\nfrom\ta\nrcpt\tb\n"})
        EXPECT_FALSE(parse_envelope(bad, body)) << bad;
}

TEST(QueueState, RoundTrip) {
    std::vector<RcptState> s(2);
    s[0].address = "a@b.test";
    s[0].status = RcptStatus::done;
    s[0].attempts = 1;
    s[0].dsn = "2.0.0";
    s[0].text = "delivered";
    s[1].address = "c@d.test";
    s[1].attempts = 3;
    s[1].next = 99;
    s[1].dsn = "4.2.2";
    s[1].text = "mailbox full:\tline\nbreak";
    auto p = parse_state(format_state(s));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->size(), 2u);
    EXPECT_EQ((*p)[0].status, RcptStatus::done);
    EXPECT_EQ((*p)[1].status, RcptStatus::pending);
    EXPECT_EQ((*p)[1].next, 99);
    EXPECT_EQ((*p)[1].attempts, 3);
    EXPECT_EQ((*p)[1].text, "mailbox full: line break");
    EXPECT_FALSE(parse_state("nonsense"));
}

TEST(QueueBounce, Report) {
    Envelope e;
    e.id = "Q1";
    e.sender = "alice@example.test";
    e.rcpts = {{"bob@example.test", "", "rfc822;bob+2B1@example.test"}};
    RcptState f;
    f.address = "bob@example.test";
    f.dsn = "5.1.1";
    f.text = "no such user\r\nInjected: header";
    std::string b = make_bounce(e, "Subject: hi\n\nbody\n", {f}, "mx.example.test", 0);
    EXPECT_NE(b.find("To: <alice@example.test>\n"), std::string::npos);
    EXPECT_NE(b.find("Original-Recipient: rfc822; bob+1@example.test\n"), std::string::npos);
    EXPECT_NE(b.find("Status: 5.1.1\n"), std::string::npos);
    EXPECT_EQ(b.find("\nInjected:"), std::string::npos);
    EXPECT_NE(b.find("message/rfc822\n\nSubject: hi\n\nbody\n"), std::string::npos);
    e.ret = "HDRS";
    b = make_bounce(e, "Subject: hi\n\nbody\n", {f}, "mx.example.test", 0);
    EXPECT_EQ(b.find("body\n"), std::string::npos);
    EXPECT_TRUE(wants_failure_report(Recipient{"a", "", ""}));
    EXPECT_TRUE(wants_failure_report(Recipient{"a", "SUCCESS,FAILURE", ""}));
    EXPECT_FALSE(wants_failure_report(Recipient{"a", "NEVER", ""}));
    EXPECT_FALSE(wants_failure_report(Recipient{"a", "DELAY", ""}));
}

// Retries after a temporary failure: retry_min, doubling, capped at retry_max.
TEST(QueueSchedule, RetryDelays) {
    Config cfg;
    cfg.queue.retry_min = 300;
    cfg.queue.retry_max = 3600;
    struct {
        int attempts;
        int64_t delay;
    } cases[] = {{1, 300}, {2, 600}, {3, 1200}, {4, 2400}, {5, 3600}, {6, 3600}, {40, 3600}};
    for (auto& c : cases) EXPECT_EQ(queue::retry_delay(cfg, c.attempts), c.delay) << c.attempts;
    cfg.queue.retry_min = 5000; // a minimum above the maximum: the maximum
    EXPECT_EQ(queue::retry_delay(cfg, 1), 3600);
}

// The clock hook the tests of retries and intervals use instead of sleeping.
TEST(Clock, FacteurNow) {
    unsetenv("FACTEUR_NOW");
    int64_t real = now();
    EXPECT_LE(std::abs(real - static_cast<int64_t>(time(nullptr))), 1);
    setenv("FACTEUR_NOW", "+3600", 1);
    EXPECT_GE(now(), real + 3600);
    EXPECT_LE(now(), real + 3602);
    setenv("FACTEUR_NOW", "1000000000", 1);
    EXPECT_EQ(now(), 1000000000);
    setenv("FACTEUR_NOW", "soon", 1); // not a number: the real time
    EXPECT_LE(std::abs(now() - static_cast<int64_t>(time(nullptr))), 1);
    unsetenv("FACTEUR_NOW");
}

// Local workers: every entry has exactly one owner, the same in every process.
TEST(QueueSchedule, OwnersAreStableAndSpread) {
    std::vector<int> count(4, 0);
    for (int i = 0; i < 400; i++) {
        std::string id = "1700000000." + std::to_string(i) + ".host";
        unsigned k = owner_of(id, 4);
        ASSERT_LT(k, 4u);
        EXPECT_EQ(owner_of(id, 4), k);
        count[k]++;
    }
    for (int c : count) EXPECT_GT(c, 50); // none starved
    EXPECT_EQ(owner_of("x", 1), 0u);
}

namespace {

// Entries with their due recipients, as due_remote would read them.
struct FakeSpool {
    std::map<std::string, DueRemote> entries;
    int looks = 0;
    Outbound::Look look() {
        return [this](const std::string& id, bool) {
            looks++;
            auto it = entries.find(id);
            if (it == entries.end()) return DueRemote{{}, INT64_MAX, true};
            return it->second;
        };
    }
};

Config outbound_config(int max_connections, int max_per_destination, int per_connection) {
    Config cfg;
    cfg.outbound.max_connections = max_connections;
    cfg.outbound.max_per_destination = max_per_destination;
    cfg.outbound.messages_per_connection = per_connection;
    cfg.queue.retry_min = 300;
    return cfg;
}

} // namespace

TEST(QueueSchedule, OutboundBatchesWithinTheCapsInTurn) {
    Config cfg = outbound_config(3, 2, 2);
    FakeSpool spool;
    std::vector<std::string> ids;
    for (int i = 0; i < 5; i++) {
        std::string id = "a" + std::to_string(i);
        spool.entries[id].by_destination["a.example"] = {"u" + std::to_string(i) + "@a.example"};
        ids.push_back(id);
    }
    spool.entries["b0"].by_destination["b.example"] = {"x@b.example", "y@b.example"};
    ids.push_back("b0");
    Outbound s(cfg);
    for (auto& id : ids) s.arrived(id);
    s.plan(spool.look(), 1000, 1060);
    auto b1 = s.next_batch();
    ASSERT_TRUE(b1);
    EXPECT_EQ(b1->destination, "a.example");
    EXPECT_EQ(b1->jobs.size(), 2u); // messages_per_connection
    s.started(101, *b1);
    auto b2 = s.next_batch(); // the other destination's turn
    ASSERT_TRUE(b2);
    EXPECT_EQ(b2->destination, "b.example");
    ASSERT_EQ(b2->jobs.size(), 1u);
    EXPECT_EQ(b2->jobs[0].recipients.size(), 2u);
    s.started(102, *b2);
    auto b3 = s.next_batch();
    ASSERT_TRUE(b3);
    EXPECT_EQ(b3->destination, "a.example");
    s.started(103, *b3);
    EXPECT_FALSE(s.next_batch()); // max_connections (and a.example's 2)
    // Delivering entries are not looked at again.
    int looks = spool.looks;
    for (auto& id : ids) s.arrived(id, true);
    s.plan(spool.look(), 1001, 1060);
    EXPECT_EQ(spool.looks, looks);
    ASSERT_TRUE(s.ended(102, false, 1002));
    auto b4 = s.next_batch(); // b.example is done: a.example, within its 2
    EXPECT_FALSE(b4);
    ASSERT_EQ(*s.ended(101, false, 1003), "a.example");
    b4 = s.next_batch();
    ASSERT_TRUE(b4);
    EXPECT_EQ(b4->jobs.size(), 1u); // the fifth message
    EXPECT_FALSE(s.ended(999, false, 1003)); // not ours
}

TEST(QueueSchedule, OutboundRetriesAfterACrashAndWhenAForkFails) {
    Config cfg = outbound_config(20, 4, 100);
    FakeSpool spool;
    spool.entries["e1"].by_destination["a.example"] = {"u@a.example"};
    spool.entries["e2"].next = 5000; // nothing due: looked at again at 5000
    Outbound s(cfg);
    for (auto id : {"e1", "e2", "gone"}) s.arrived(id);
    s.plan(spool.look(), 1000, 9000);
    EXPECT_EQ(s.wake(9999), 5000);
    auto b = s.next_batch();
    ASSERT_TRUE(b);
    s.not_started(*b); // fork failed: the same batch again later
    EXPECT_FALSE(s.idle());
    b = s.next_batch();
    ASSERT_TRUE(b);
    ASSERT_EQ(b->jobs.size(), 1u);
    s.started(7, *b);
    EXPECT_EQ(s.children(), (std::vector<pid_t>{7}));
    s.ended(7, /*crashed=*/true, 1010);
    EXPECT_TRUE(s.idle());
    EXPECT_EQ(s.wake(9999), 1010 + 300); // e1 after retry_min
    spool.looks = 0;
    s.plan(spool.look(), 1100, 9000);
    EXPECT_EQ(spool.looks, 0); // not due yet
    s.plan(spool.look(), 1310, 9000);
    EXPECT_EQ(spool.looks, 1);
    s.arrived("e3"); // a new entry: looked at now
    EXPECT_EQ(s.wake(9999), 0);
}

// due_remote on a real spool: local recipients are left to the runner,
// remote ones are due by their next attempt.
TEST(QueueSchedule, DueRemoteReadsTheEntry) {
    char tmpl[] = "/tmp/facteur-due-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    std::string root = tmpl;
    Config cfg;
    cfg.state_dir = root;
    auto dir = Directory::open(cfg.directory_path(), Db::Access::create);
    ASSERT_TRUE(dir) << dir.error().detail;
    ASSERT_TRUE(dir->add_domain("here.example"));
    auto spool = Spool::open(root + "/queue");
    ASSERT_TRUE(spool) << spool.error().detail;
    Envelope env;
    env.sender = "a@here.example";
    env.rcpts = {{"b@here.example", "", ""}, {"c@far.example", "", ""}, {"d@other.example", "", ""}};
    auto added = spool->add(env, "Subject: x\r\n\r\nbody\r\n");
    ASSERT_TRUE(added) << added.error().detail;
    int64_t now = mail::now();
    auto due = due_remote(cfg, *spool, *dir, env.id, now, false);
    EXPECT_FALSE(due.gone);
    ASSERT_EQ(due.by_destination.size(), 2u);
    EXPECT_EQ(due.by_destination["far.example"], (std::vector<std::string>{"c@far.example"}));
    EXPECT_EQ(due.next, INT64_MAX);
    EXPECT_TRUE(due_remote(cfg, *spool, *dir, "no-such-entry", now, false).gone);
    std::filesystem::remove_all(root);
}

// A scan reads no entry: a state file's mtime says when it is next due.
TEST(QueueSchedule, ScanFindsEntriesDueByTheirStateFile) {
    char tmpl[] = "/tmp/facteur-scan-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    std::string root = tmpl;
    auto spool = Spool::open(root + "/queue");
    ASSERT_TRUE(spool) << spool.error().detail;
    Config cfg;
    cfg.queue.retry_max = 4 * 3600;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; i++) {
        Envelope env;
        env.sender = "a@here.example";
        env.rcpts = {{"x@down.example", "", ""}, {"y@down.example", "", ""}};
        ASSERT_TRUE(spool->add(env, "Subject: x\n\nbody\n"));
        ids.push_back(env.id);
    }
    int64_t now = mail::now();
    auto pending = [](const char* a, int64_t next) { return RcptState{a, RcptStatus::pending, 1, next, "4.4.1", "", false}; };
    // Never tried: due now. Tried: due at its earliest pending recipient.
    ASSERT_TRUE(spool->save_state(ids[1], {pending("x@down.example", now + 3600), pending("y@down.example", now + 600)}));
    ASSERT_TRUE(spool->save_state(ids[2], {RcptState{"x@down.example", RcptStatus::done, 1, 0, "2.0.0", "", false},
                                           pending("y@down.example", now + 10 * 86400)}));
    std::map<std::string, Scanned> seen;
    ASSERT_TRUE(spool->each([&](const Scanned& e) { seen[std::string(e.id)] = Scanned{{}, e.due, e.changed_ns}; }));
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[ids[0]].due, 0);
    EXPECT_EQ(seen[ids[0]].changed_ns, 0);
    EXPECT_EQ(seen[ids[1]].due, now + 600);
    EXPECT_GT(seen[ids[1]].changed_ns, (now - 5) * 1'000'000'000LL);
    EXPECT_TRUE(due_by_scan(cfg, seen[ids[0]], now));
    EXPECT_FALSE(due_by_scan(cfg, seen[ids[1]], now));
    EXPECT_TRUE(due_by_scan(cfg, seen[ids[1]], now + 600));
    EXPECT_TRUE(due_by_scan(cfg, seen[ids[2]], now)); // beyond any retry: the clock went back
    std::filesystem::remove_all(root);
}

// The scheduler holds at most its limit, and lets go of what is not due
// before the next scan.
TEST(QueueSchedule, OutboundHoldsABoundedSet) {
    Config cfg = outbound_config(20, 4, 100);
    FakeSpool spool;
    spool.entries["e1"].next = 5000;
    spool.entries["e2"].next = 1030;
    Outbound s(cfg, 2);
    s.arrived("e1");
    EXPECT_FALSE(s.full());
    s.arrived("e2");
    EXPECT_TRUE(s.full());
    s.plan(spool.look(), 1000, 1060);
    EXPECT_FALSE(s.full()); // e1 is let go: due after the next scan
    EXPECT_EQ(s.wake(9999), 1030);
    spool.entries["e1"].by_destination["a.example"] = {"u@a.example"};
    s.arrived("e1", true); // a flush: looked at now, every recipient due
    bool forced = false;
    s.plan([&](const std::string& id, bool force) {
        if (id == "e1") forced = force;
        return spool.entries[id];
    }, 1001, 1060);
    EXPECT_TRUE(forced);
    auto b = s.next_batch();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->jobs[0].id, "e1");
}
