#include <gtest/gtest.h>

#include "message/address.hpp"

using namespace mail;

struct AddressCase {
    const char* in;
    bool ok;
    const char* local;
    const char* domain;
};

TEST(Address, ParseTable) {
    const AddressCase cases[] = {
        {"alice@example.test", true, "alice", "example.test"},
        {"Alice.B@EXAMPLE.Test", true, "Alice.B", "example.test"},
        {"a+tag@example.test", true, "a+tag", "example.test"},
        {"\"john doe\"@example.test", true, "john doe", "example.test"},
        {"\"a\\\"b\"@example.test", true, "a\"b", "example.test"},
        {"user@[192.0.2.1]", true, "user", "[192.0.2.1]"},
        {"user@bücher.example", true, "user", "xn--bcher-kva.example"},
        {"user@Bücher.example", true, "user", "xn--bcher-kva.example"},
        {"user@例え.テスト", true, "user", "xn--r8jz45g.xn--zckzah"},
        {"noat", false, "", ""},
        {"@example.test", false, "", ""},
        {"a..b@example.test", false, "", ""},
        {".a@example.test", false, "", ""},
        {"a.@example.test", false, "", ""},
        {"a b@example.test", false, "", ""},
        {"a@-bad.test", false, "", ""},
        {"a@bad-.test", false, "", ""},
        {"a@exa_mple.test", false, "", ""},
        {"a@example.test.", false, "", ""},
        {"a@", false, "", ""},
        {"a@ex..test", false, "", ""},
        {"\"unterminated@example.test", false, "", ""},
    };
    for (auto& c : cases) {
        auto r = parse_address(c.in);
        EXPECT_EQ(r.ok(), c.ok) << c.in;
        if (r && c.ok) {
            EXPECT_EQ(r->local, c.local) << c.in;
            EXPECT_EQ(r->domain, c.domain) << c.in;
        }
    }
}

TEST(Address, LengthLimits) {
    EXPECT_FALSE(parse_address(std::string(65, 'a') + "@example.test"));
    EXPECT_TRUE(parse_address(std::string(64, 'a') + "@example.test"));
    EXPECT_FALSE(parse_address("a@" + std::string(64, 'b') + ".test"));
}

TEST(Address, StrQuotesWhenNeeded) {
    EXPECT_EQ((Address{"john doe", "x.test"}).str(), "\"john doe\"@x.test");
    EXPECT_EQ((Address{"john", "x.test"}).str(), "john@x.test");
    EXPECT_EQ((Address{"a\"b", "x.test"}).str(), "\"a\\\"b\"@x.test");
}

TEST(Address, Paths) {
    EXPECT_TRUE(parse_path("<>")->empty());
    EXPECT_EQ(parse_path("<a@b.test>")->str(), "a@b.test");
    EXPECT_EQ(parse_path("<@relay.test,@r2.test:a@b.test>")->str(), "a@b.test");
    EXPECT_FALSE(parse_path("<@relay.test a@b.test>"));
}

TEST(Address, HeaderLists) {
    struct {
        const char* in;
        std::vector<std::string> out;
    } cases[] = {
        {"Alice <alice@example.test>", {"alice@example.test"}},
        {"\"Doe, John\" <john@example.test>, bob@example.test", {"john@example.test", "bob@example.test"}},
        {"alice@example.test (Alice Liddell)", {"alice@example.test"}},
        {"undisclosed-recipients:;", {}},
        {"team: a@x.test, b@x.test;, c@x.test", {"a@x.test", "b@x.test", "c@x.test"}},
        {"=?utf-8?q?J=C3=B6rg?= <jorg@x.test>", {"jorg@x.test"}},
        {"<@route.test:a@x.test>", {"a@x.test"}},
        {"garbage <<<", {}},
    };
    for (auto& c : cases) {
        auto list = parse_address_list(c.in);
        std::vector<std::string> got;
        for (auto& a : list) got.push_back(a.str());
        EXPECT_EQ(got, c.out) << c.in;
    }
}

TEST(Address, ListAsWrittenGroupsRoutesQuotesAndComments) {
    auto a = read_address_list("undisclosed-recipients:;");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].kind, ListedAddress::Kind::group_start);
    EXPECT_EQ(a[0].name, "undisclosed-recipients");
    EXPECT_EQ(a[1].kind, ListedAddress::Kind::group_end);
    a = read_address_list("Team: \"Smith, John\" <j.smith@x.test>, b@y.test; c@z.test (Carol)");
    ASSERT_EQ(a.size(), 5u);
    EXPECT_EQ(a[1].name, "Smith, John");
    EXPECT_EQ(a[1].local, "j.smith");
    EXPECT_EQ(a[1].domain, "x.test");
    EXPECT_EQ(a[2].local, "b");
    EXPECT_EQ(a[3].kind, ListedAddress::Kind::group_end);
    EXPECT_EQ(a[4].local, "c");
    EXPECT_TRUE(a[4].has_name); // a comment after a bare address names the person
    EXPECT_EQ(a[4].name, "Carol");
    // Comments inside an address are not names; the address is read through them.
    a = read_address_list("<user-from (comment)@ (comment) domain.org>, x@y.test ( (nested) \\) ), z@y.test ()");
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].local, "user-from");
    EXPECT_EQ(a[0].domain, "domain.org");
    EXPECT_FALSE(a[0].has_name);
    EXPECT_EQ(a[1].name, "(nested) )");
    EXPECT_FALSE(a[2].has_name);
    a = read_address_list("<@relay.test,@b.test:joe@c.test>");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].route, "@relay.test,@b.test");
    EXPECT_EQ(a[0].local, "joe");
    a = read_address_list("=?utf-8?q?J=C3=B6rg?= <jorg@x.test>, \"a\\\"b\" <ab@x.test>, localonly");
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].name, "=?utf-8?q?J=C3=B6rg?=");
    EXPECT_EQ(a[1].name, "a\"b");
    EXPECT_EQ(a[2].local, "localonly");
    EXPECT_FALSE(a[2].has_domain);
    EXPECT_TRUE(read_address_list("").empty());
    EXPECT_TRUE(read_address_list(",,;:<>").size() <= 2);
}

TEST(Address, Subaddress) {
    std::string base, tag;
    EXPECT_TRUE(split_subaddress("alice+work", "+", base, tag));
    EXPECT_EQ(base, "alice");
    EXPECT_EQ(tag, "work");
    EXPECT_FALSE(split_subaddress("alice", "+", base, tag));
    EXPECT_FALSE(split_subaddress("+x", "+", base, tag));
    EXPECT_FALSE(split_subaddress("alice+x", "", base, tag));
    EXPECT_TRUE(split_subaddress("alice-x-y", "-", base, tag));
    EXPECT_EQ(tag, "x-y");
}
