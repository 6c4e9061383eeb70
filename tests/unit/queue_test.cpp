#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "queue/bounce.hpp"
#include "queue/runner.hpp"
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
