#include <gtest/gtest.h>

#include <map>
#include <set>

#include "verify/spf.hpp"

using namespace mail;
using namespace mail::verify;
using net::DnsAnswer;
using net::RrType;

namespace {

// A zone: records by name and type; a name with records of other types
// answers "no data", one listed in `failing` SERVFAIL, the rest NXDOMAIN.
struct Zone {
    std::multimap<std::pair<std::string, RrType>, std::string> records;
    std::set<std::string> failing;
    int queries = 0;
    Zone& add(const std::string& name, RrType t, const std::string& value) {
        records.emplace(std::make_pair(name, t), value);
        return *this;
    }
    Zone& txt(const std::string& name, const std::string& value) { return add(name, RrType::txt, value); }
    Lookup lookup() {
        return [this](const std::string& name, RrType t) {
            queries++;
            DnsAnswer a;
            if (failing.count(name)) {
                a.error = "SERVFAIL";
                return a;
            }
            auto [b, e] = records.equal_range({name, t});
            for (auto it = b; it != e; ++it) a.values.push_back(it->second);
            if (!a.values.empty()) a.kind = DnsAnswer::found;
            else {
                a.kind = DnsAnswer::nxdomain;
                for (auto& [k, v] : records)
                    if (k.first == name) a.kind = DnsAnswer::nodata;
            }
            return a;
        };
    }
};

SpfVerdict check(Zone& z, const std::string& ip, const std::string& from, const std::string& helo = "mx.client.test") {
    return check_spf(z.lookup(), SpfFacts{ip, helo, "mx.here.test", 1700000000}, from);
}

Spf result(Zone& z, const std::string& ip, const std::string& from = "user@example.com") {
    return check(z, ip, from).result;
}

} // namespace

TEST(Spf, QualifiersAndNetworks) {
    Zone z;
    z.txt("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~ip4:198.51.100.1 ?ip4:198.51.100.2 -all");
    EXPECT_EQ(result(z, "192.0.2.77"), Spf::pass);
    EXPECT_EQ(result(z, "::ffff:192.0.2.77"), Spf::pass); // IPv4-mapped: checked as IPv4
    EXPECT_EQ(result(z, "2001:db8:1::5"), Spf::pass);
    EXPECT_EQ(result(z, "198.51.100.1"), Spf::softfail);
    EXPECT_EQ(result(z, "198.51.100.2"), Spf::neutral);
    auto v = check(z, "203.0.113.9", "user@example.com");
    EXPECT_EQ(v.result, Spf::fail);
    EXPECT_EQ(v.reason, "-all matched (example.com)");
    z.txt("nomatch.example", "v=spf1 ip4:192.0.2.1");
    EXPECT_EQ(result(z, "203.0.113.9", "a@nomatch.example"), Spf::neutral);
    z.txt("upper.example", "V=SPF1 IP4:192.0.2.1 -ALL");
    EXPECT_EQ(result(z, "192.0.2.1", "a@upper.example"), Spf::pass);
}

TEST(Spf, RecordSelection) {
    Zone z;
    z.txt("two.example", "v=spf1 +all").txt("two.example", "v=spf1 -all");
    z.txt("other.example", "google-site-verification=abc").txt("other.example", "v=spf10 +all");
    z.add("nodata.example", RrType::a, "192.0.2.1");
    z.failing.insert("broken.example");
    EXPECT_EQ(result(z, "192.0.2.1", "a@two.example"), Spf::permerror);
    EXPECT_EQ(result(z, "192.0.2.1", "a@other.example"), Spf::none);
    EXPECT_EQ(result(z, "192.0.2.1", "a@nodata.example"), Spf::none);
    EXPECT_EQ(result(z, "192.0.2.1", "a@nxdomain.example"), Spf::none);
    EXPECT_EQ(result(z, "192.0.2.1", "a@broken.example"), Spf::temperror);
    EXPECT_EQ(result(z, "192.0.2.1", "a@single-label"), Spf::none);
    EXPECT_EQ(result(z, "192.0.2.1", "a@" + std::string(64, 'x') + ".example"), Spf::none);
}

TEST(Spf, SyntaxErrorsAnywhereArePermerror) {
    Zone z;
    for (auto rec : {"v=spf1 +all foo:bar", "v=spf1 ip4:192.0.2.300 +all", "v=spf1 ip4:192.0.2.0/33",
                     "v=spf1 a/0124", "v=spf1 include", "v=spf1 include:nodot", "v=spf1 redirect=a.example redirect=b.example",
                     "v=spf1 exp=a.example exp=b.example", "v=spf1 a:%{x}.example", "v=spf1 a:%{d0}.example",
                     "v=spf1 a:%{c}.example", "v=spf1 a:example.123", "v=spf1 all:x", "v=spf1 +all\t-all",
                     "v=spf1 mx//129", "v=spf1 exists:%"}) {
        z.records.clear();
        z.txt("example.com", rec);
        EXPECT_EQ(result(z, "192.0.2.1"), Spf::permerror) << rec;
    }
    // Unknown modifiers are allowed; a modifier's place does not matter.
    z.records.clear();
    z.txt("example.com", "v=spf1 moo=cow.%{d} +all");
    EXPECT_EQ(result(z, "192.0.2.1"), Spf::pass);
    EXPECT_TRUE(parse_spf("v=spf1 a:foo.example/24//64 mx/26 ptr:x.example exists:%{ir}.%{l1r+-}._spf.%{d}"));
}

TEST(Spf, AMxPtrExists) {
    Zone z;
    z.txt("example.com", "v=spf1 a mx/30 a:other.example//64 ptr exists:%{ir}.allow.example -all");
    z.add("example.com", RrType::a, "192.0.2.10").add("example.com", RrType::mx, "mx.example.com");
    z.add("mx.example.com", RrType::a, "192.0.2.129");
    z.add("other.example", RrType::aaaa, "2001:db8:5::1");
    z.add("9.113.0.203.in-addr.arpa", RrType::ptr, "relay.example.com");
    z.add("relay.example.com", RrType::a, "203.0.113.9");
    z.add("10.113.0.203.in-addr.arpa", RrType::ptr, "liar.example.com"); // does not lead back
    z.add("liar.example.com", RrType::a, "203.0.113.99");
    z.add("7.100.51.198.allow.example", RrType::a, "127.0.0.2");
    EXPECT_EQ(result(z, "192.0.2.10"), Spf::pass);
    EXPECT_EQ(result(z, "192.0.2.131"), Spf::pass); // mx/30
    EXPECT_EQ(result(z, "192.0.2.133"), Spf::fail);
    EXPECT_EQ(result(z, "2001:db8:5::ffff"), Spf::pass); // //64
    EXPECT_EQ(result(z, "203.0.113.9"), Spf::pass);      // ptr, validated
    EXPECT_EQ(result(z, "203.0.113.10"), Spf::fail);     // ptr, not validated
    EXPECT_EQ(result(z, "198.51.100.7"), Spf::pass);     // exists
}

TEST(Spf, IncludeAndRedirect) {
    Zone z;
    z.txt("example.com", "v=spf1 include:_spf.provider.example include:soft.example -all");
    z.txt("_spf.provider.example", "v=spf1 ip4:192.0.2.0/24 -all");
    z.txt("soft.example", "v=spf1 ~all");
    EXPECT_EQ(result(z, "192.0.2.1"), Spf::pass);
    EXPECT_EQ(result(z, "198.51.100.1"), Spf::fail); // the includes' fail and softfail do not match
    z.txt("none.example", "v=spf1 include:nothing.example +all");
    EXPECT_EQ(result(z, "192.0.2.1", "a@none.example"), Spf::permerror);
    z.txt("temp.example", "v=spf1 include:broken.example +all");
    z.failing.insert("broken.example");
    EXPECT_EQ(result(z, "192.0.2.1", "a@temp.example"), Spf::temperror);
    z.txt("redir.example", "v=spf1 redirect=example.com");
    EXPECT_EQ(result(z, "192.0.2.1", "a@redir.example"), Spf::pass);
    EXPECT_EQ(result(z, "198.51.100.1", "a@redir.example"), Spf::fail);
    z.txt("redir-none.example", "v=spf1 redirect=nothing.example");
    EXPECT_EQ(result(z, "192.0.2.1", "a@redir-none.example"), Spf::permerror);
    z.txt("all-wins.example", "v=spf1 redirect=nothing.example ?all");
    EXPECT_EQ(result(z, "192.0.2.1", "a@all-wins.example"), Spf::neutral);
}

TEST(Spf, Limits) {
    Zone z;
    // 11 terms that query DNS.
    std::string rec = "v=spf1";
    for (int i = 0; i < 11; i++) {
        rec += " include:i" + std::to_string(i) + ".example";
        z.txt("i" + std::to_string(i) + ".example", "v=spf1 -all");
    }
    z.txt("many.example", rec + " +all");
    auto v = check(z, "192.0.2.1", "a@many.example");
    EXPECT_EQ(v.result, Spf::permerror);
    EXPECT_EQ(v.reason, "more than 10 DNS lookups");
    // A loop ends at the limit.
    z.txt("loop.example", "v=spf1 include:loop.example -all");
    EXPECT_EQ(result(z, "192.0.2.1", "a@loop.example"), Spf::permerror);
    // Two void lookups are allowed, the third is an error.
    z.txt("void2.example", "v=spf1 a:n1.example a:n2.example +all");
    z.txt("void3.example", "v=spf1 a:n1.example a:n2.example a:n3.example +all");
    EXPECT_EQ(result(z, "192.0.2.1", "a@void2.example"), Spf::pass);
    EXPECT_EQ(result(z, "192.0.2.1", "a@void3.example"), Spf::permerror);
    // More than 10 MX names.
    z.txt("mx11.example", "v=spf1 mx +all");
    for (int i = 0; i < 11; i++) z.add("mx11.example", RrType::mx, "m" + std::to_string(i) + ".example");
    EXPECT_EQ(result(z, "192.0.2.1", "a@mx11.example"), Spf::permerror);
    // A DNS failure in a mechanism is temperror.
    z.txt("tmp.example", "v=spf1 a:broken.example +all");
    z.failing.insert("broken.example");
    EXPECT_EQ(result(z, "192.0.2.1", "a@tmp.example"), Spf::temperror);
}

TEST(Spf, MacrosOfRfc7208Section7_4) {
    MacroValues v;
    v.sender = "strong-bad@email.example.com";
    v.local = "strong-bad";
    v.sender_domain = v.domain = "email.example.com";
    v.ip = "192.0.2.3";
    v.ip_readable = "192.0.2.3";
    v.helo = "mx.example.org";
    auto x = [&](const char* spec) { return *expand_macros(spec, v); };
    EXPECT_EQ(x("%{s}"), "strong-bad@email.example.com");
    EXPECT_EQ(x("%{o}"), "email.example.com");
    EXPECT_EQ(x("%{d}"), "email.example.com");
    EXPECT_EQ(x("%{d4}"), "email.example.com");
    EXPECT_EQ(x("%{d3}"), "email.example.com");
    EXPECT_EQ(x("%{d2}"), "example.com");
    EXPECT_EQ(x("%{d1}"), "com");
    EXPECT_EQ(x("%{dr}"), "com.example.email");
    EXPECT_EQ(x("%{d2r}"), "example.email");
    EXPECT_EQ(x("%{l}"), "strong-bad");
    EXPECT_EQ(x("%{l-}"), "strong.bad");
    EXPECT_EQ(x("%{lr}"), "strong-bad");
    EXPECT_EQ(x("%{lr-}"), "bad.strong");
    EXPECT_EQ(x("%{l1r-}"), "strong");
    EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(x("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
    EXPECT_EQ(x("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    EXPECT_EQ(x("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
    EXPECT_EQ(x("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
    EXPECT_EQ(x("%%%_%-"), "% %20");
    EXPECT_EQ(x("%{S}"), "strong-bad%40email.example.com"); // upper case: URL-escaped
    EXPECT_FALSE(expand_macros("%{c}", v));                 // only in explanations
    EXPECT_EQ(*expand_macros("%{c} is not one of %{d}'s", v, true), "192.0.2.3 is not one of email.example.com's");
    v.ip = "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1";
    v.ipv6 = true;
    EXPECT_EQ(x("%{ir}.%{v}._spf.%{d2}"),
              "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(Spf, MacrosInEvaluationAndExplanation) {
    Zone z;
    z.txt("example.com", "v=spf1 exists:%{l}.%{i}.users.example.com exp=explain.%{d} -all");
    z.add("alice.192.0.2.3.users.example.com", RrType::a, "127.0.0.2");
    z.txt("explain.example.com", "%{i} is not one of %{d}'s designated mail servers.");
    EXPECT_EQ(result(z, "192.0.2.3", "alice@example.com"), Spf::pass);
    auto v = check(z, "192.0.2.4", "alice@example.com");
    EXPECT_EQ(v.result, Spf::fail);
    EXPECT_EQ(v.explanation, "192.0.2.4 is not one of example.com's designated mail servers.");
    // The null sender: the HELO name is checked, as postmaster@helo.
    z.txt("mx.client.test", "v=spf1 ip4:192.0.2.3 -all");
    v = check(z, "192.0.2.3", "");
    EXPECT_TRUE(v.helo);
    EXPECT_EQ(v.sender, "postmaster@mx.client.test");
    EXPECT_EQ(v.result, Spf::pass);
    // %{p}: the validated name of the client.
    z.txt("p.example", "v=spf1 exists:%{p}.ok.example -all");
    z.add("3.2.0.192.in-addr.arpa", RrType::ptr, "host.p.example");
    z.add("host.p.example", RrType::a, "192.0.2.3");
    z.add("host.p.example.ok.example", RrType::a, "127.0.0.2");
    EXPECT_EQ(result(z, "192.0.2.3", "a@p.example"), Spf::pass);
    EXPECT_EQ(result(z, "192.0.2.4", "a@p.example"), Spf::fail); // unknown.ok.example
}

TEST(Spf, TimeBudget) {
    Zone z;
    z.txt("example.com", "v=spf1 a:x1.example +all");
    SpfLimits l;
    l.budget_ms = -1; // already spent
    auto v = check_spf(z.lookup(), SpfFacts{"192.0.2.1", "h.example", "mx.here.test", 0}, "a@example.com", l);
    EXPECT_EQ(v.result, Spf::temperror);
    EXPECT_EQ(v.reason, "time budget for DNS exceeded");
}
