#include <gtest/gtest.h>

#include "message/header.hpp"
#include "store/index.hpp"

using namespace mail;

TEST(Header, FieldsAndFolding) {
    std::string msg = "From: a@x.test\nSubject: hello\n  world\nX-Empty:\n\nbody\nSubject: no\n";
    auto h = parse_header(msg);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->fields.size(), 3u);
    EXPECT_EQ(h->get("subject").value(), "hello  world");
    EXPECT_EQ(h->get("X-EMPTY").value(), "");
    EXPECT_FALSE(h->get("To"));
    EXPECT_EQ(msg.substr(h->body_offset), "body\nSubject: no\n");
}

TEST(Header, CrlfAndCount) {
    std::string msg = "Received: a\r\nReceived: b\r\n\tc\r\nDelivered-To: x@y.test\r\n\r\nB";
    auto h = parse_header(msg);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->count("received"), 2u);
    EXPECT_EQ(h->get("Delivered-To").value(), "x@y.test");
    EXPECT_EQ(msg.substr(h->body_offset), "B");
}

TEST(Header, OddInput) {
    struct {
        std::string msg;
        size_t fields;
    } cases[] = {
        {"", 0},
        {"\n", 0},
        {"no colon line\nA: b\n\n", 1},
        {"From mbox-line Mon\nA: b\n\n", 1},
        {"Bad Name: x\nA: b", 1},
        {std::string("A: b\0c\n\n", 8), 1},
        {"A: b", 1},
    };
    for (auto& c : cases) {
        auto h = parse_header(c.msg);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->fields.size(), c.fields) << c.msg;
    }
}

TEST(Header, TooLarge) {
    std::string msg = "X: " + std::string(2000, 'a') + "\n\n";
    EXPECT_FALSE(parse_header(msg, 1000));
    EXPECT_TRUE(parse_header(msg, 4000));
}

TEST(Header, CacheFields) {
    auto f = cache_fields("Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: A <a@x.test>\nTo: b@x.test\n"
                          "Subject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <1@x.test>\n\nbody");
    EXPECT_EQ(f.from, "A <a@x.test>");
    EXPECT_EQ(f.subject, "=?utf-8?q?caf=C3=A9?=");
    EXPECT_EQ(f.message_id, "<1@x.test>");
    EXPECT_EQ(f.date, "Mon, 1 Jan 2024 00:00:00 +0000");
}

TEST(Header, FormatDate) {
    EXPECT_EQ(format_date(1764410000), "Sat, 29 Nov 2025 09:53:20 +0000");
    EXPECT_EQ(format_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    // Times from a queue file may be anything: never out of the tables.
    EXPECT_EQ(format_date(-1), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(format_date(176441002525000000LL), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(format_date(253402300799), "Fri, 31 Dec 9999 23:59:59 +0000");
}
