#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "message/dkim.hpp"
#include "verify/checks.hpp"
#include "verify/dkim.hpp"
#include "verify/dnsbl.hpp"
#include "verify/dmarc.hpp"
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

// --- DKIM ----------------------------------------------------------------

namespace {

const char* dkim_message =
    "From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: Re: Re:  the quarterly report\n"
    "Date: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <1@example.com>\n\nHello Bob,\n\nthe report.  \n\n\n";

// A message signed with a new key of `a`, and the zone holding that key.
std::string signed_message(dkim::Algorithm a, Zone& z, const std::string& record_extra = "",
                           const char* text = dkim_message) {
    auto k = dkim::generate(a);
    EXPECT_TRUE(k);
    k->domain = "example.com";
    k->selector = "sel";
    z.txt("sel._domainkey.example.com", dkim::txt_record(a, *dkim::public_value(*k)) + record_extra);
    auto sig = dkim::sign(text, {*k}, 1700000000);
    EXPECT_TRUE(sig);
    return *sig + text;
}

std::vector<DkimResult> dkim_check(Zone& z, const std::string& m) { return verify_dkim(z.lookup(), m, {5, 1700000100}); }

} // namespace

TEST(DkimVerify, OurSignaturesVerify) {
    for (auto a : {dkim::Algorithm::rsa_sha256, dkim::Algorithm::ed25519_sha256}) {
        Zone z;
        std::string m = signed_message(a, z);
        auto r = dkim_check(z, m);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].result, "pass") << r[0].reason;
        EXPECT_EQ(r[0].domain, "example.com");
        EXPECT_EQ(r[0].selector, "sel");
        EXPECT_EQ(r[0].identity, "@example.com");
        EXPECT_TRUE(r[0].whole_body);
        // The same message with CRLF line ends, as it came over SMTP.
        std::string crlf;
        for (char c : m) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        EXPECT_EQ(dkim_check(z, crlf)[0].result, "pass");
    }
}

TEST(DkimVerify, ChangesAndBadKeysFail) {
    Zone z;
    std::string m = signed_message(dkim::Algorithm::rsa_sha256, z);
    std::string body_changed = m;
    body_changed.replace(body_changed.find("the report."), 11, "the r3port.");
    EXPECT_EQ(dkim_check(z, body_changed)[0].reason, "body hash did not verify");
    std::string from_changed = m;
    from_changed.replace(from_changed.find("Alice <alice"), 5, "Mal  ");
    auto r = dkim_check(z, from_changed);
    EXPECT_EQ(r[0].result, "fail");
    EXPECT_EQ(r[0].reason, "signature did not verify");
    // Relaxed canonicalization forgives re-folding and white space.
    std::string refolded = m;
    refolded.replace(refolded.find("Subject: Re: Re:  the quarterly"), 31, "Subject:   Re:\n\tRe: the  quarterly");
    EXPECT_EQ(dkim_check(z, refolded)[0].result, "pass");
    Zone none;
    EXPECT_EQ(dkim_check(none, m)[0].result, "permerror");
    Zone broken;
    broken.failing.insert("sel._domainkey.example.com");
    EXPECT_EQ(dkim_check(broken, m)[0].result, "temperror");
    Zone revoked;
    revoked.txt("sel._domainkey.example.com", "v=DKIM1; k=rsa; p=");
    EXPECT_EQ(dkim_check(revoked, m)[0].reason, "key revoked");
    Zone wrong_type;
    wrong_type.txt("sel._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + std::string(43, 'A') + "=");
    EXPECT_EQ(dkim_check(wrong_type, m)[0].result, "permerror");
    EXPECT_TRUE(dkim_check(z, dkim_message).empty()); // no signature: dkim=none
}

TEST(DkimVerify, SignatureTagRules) {
    Zone z;
    std::string m = signed_message(dkim::Algorithm::rsa_sha256, z);
    auto with = [&](const std::string& from, const std::string& to) {
        std::string x = m;
        size_t at = x.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return x.replace(at, from.size(), to);
    };
    EXPECT_EQ(dkim_check(z, with("v=1;", "v=1; v=1;"))[0].reason, "signature: tag 'v' given twice");
    EXPECT_EQ(dkim_check(z, with("a=rsa-sha256", "a=rsa-sha1"))[0].result, "fail");
    std::string no_from = m;
    size_t h = no_from.find(" h=");
    no_from.replace(h, no_from.find(';', h) - h, " h=subject:date");
    EXPECT_EQ(dkim_check(z, no_from)[0].reason, "h= does not include From");
    EXPECT_EQ(dkim_check(z, with("d=example.com", "d=example.com; i=a@elsewhere.example"))[0].reason,
              "i= is not within d=");
    EXPECT_EQ(dkim_check(z, with("t=1700000000", "t=1700000000; x=1700000050"))[0].reason, "signature expired");
    EXPECT_EQ(dkim_check(z, with("v=1;", "v=2;"))[0].result, "permerror");
    // Testing keys are noted; t=s refuses an i= below d=.
    Zone y;
    std::string my = signed_message(dkim::Algorithm::ed25519_sha256, y, "; t=y");
    auto r = dkim_check(y, my);
    EXPECT_EQ(r[0].result, "pass");
    EXPECT_TRUE(r[0].testing);
    // At most max_signatures are looked at.
    std::string many;
    for (int i = 0; i < 8; i++) many += m.substr(0, m.find("From: "));
    EXPECT_EQ(verify_dkim(z.lookup(), many + m, {3, 1700000100}).size(), 3u);
}

TEST(DkimVerify, TagLists) {
    auto t = parse_tag_list(" v = DKIM1 ;k=rsa;\n\t p=AB\n CD ;");
    ASSERT_TRUE(t);
    ASSERT_EQ(t->size(), 3u);
    EXPECT_EQ((*t)[0], (std::pair<std::string, std::string>{"v", "DKIM1"}));
    EXPECT_EQ((*t)[2].second, "AB\n CD");
    EXPECT_FALSE(parse_tag_list("a=1; a=2"));
    EXPECT_FALSE(parse_tag_list("a=1; novalue"));
    EXPECT_FALSE(parse_tag_list("1a=2"));
    EXPECT_TRUE(parse_tag_list(""));
}

// --- DMARC ---------------------------------------------------------------

namespace {

SpfVerdict spf_of(Spf r, const std::string& domain) {
    SpfVerdict v;
    v.result = r;
    v.domain = domain;
    return v;
}

DkimResult dkim_of(const std::string& result, const std::string& domain, bool whole = true) {
    DkimResult r;
    r.result = result;
    r.domain = domain;
    r.whole_body = whole;
    return r;
}

DmarcVerdict dmarc(Zone& z, const std::string& from, const SpfVerdict& spf, const std::vector<DkimResult>& dkim = {}) {
    std::string m = "From: Someone <someone@" + from + ">\nSubject: x\n\nbody\n";
    return check_dmarc(z.lookup(), m, spf, dkim);
}

} // namespace

TEST(Dmarc, Records) {
    auto r = parse_dmarc("v=DMARC1; p=Reject; sp=quarantine; adkim=s; t=y; psd=n; rua=mailto:a@x.example, mailto:b@y.example");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->p, "reject");
    EXPECT_EQ(r->sp, "quarantine");
    EXPECT_TRUE(r->adkim_strict);
    EXPECT_FALSE(r->aspf_strict);
    EXPECT_TRUE(r->testing);
    EXPECT_EQ(r->psd, "n");
    EXPECT_EQ(r->rua, (std::vector<std::string>{"mailto:a@x.example", "mailto:b@y.example"}));
    EXPECT_EQ(parse_dmarc("v=DMARC1; p=bogus")->p, "none");
    EXPECT_FALSE(parse_dmarc("p=reject; v=DMARC1"));
    EXPECT_FALSE(parse_dmarc("v=spf1 -all"));
    EXPECT_FALSE(parse_dmarc("v=DMARC1; p=reject; p=none"));
}

TEST(Dmarc, TreeWalkFindsPolicyAndOrganizationalDomain) {
    Zone z;
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine");
    z.add("mail.example.com", RrType::a, "192.0.2.1");
    // A subdomain without its own record: the parent's sp.
    auto v = dmarc(z, "a.b.mail.example.com", spf_of(Spf::pass, "elsewhere.example"));
    EXPECT_EQ(v.result, "fail");
    EXPECT_EQ(v.policy_domain, "example.com");
    EXPECT_EQ(v.policy, "quarantine");
    // Relaxed alignment through the organizational domain.
    v = dmarc(z, "mail.example.com", spf_of(Spf::pass, "bounce.example.com"));
    EXPECT_EQ(v.result, "pass");
    EXPECT_TRUE(v.spf_aligned);
    EXPECT_EQ(*organizational_domain(z.lookup(), "x.y.mail.example.com"), "example.com");
    // A domain of many labels: the walk jumps to its last seven.
    Zone deep;
    deep.txt("_dmarc.c.d.e.f.g.example.com", "v=DMARC1; p=reject");
    deep.txt("_dmarc.example.com", "v=DMARC1; p=none");
    auto d = dmarc(deep, "a.b.c.d.e.f.g.example.com", spf_of(Spf::fail, ""));
    EXPECT_EQ(d.policy_domain, "c.d.e.f.g.example.com");
    deep.queries = 0;
    dmarc(deep, "z.a.b.c.d.e.f.g.h.example.com", spf_of(Spf::fail, ""));
    EXPECT_LE(deep.queries, 8 + 3); // the walk, then A, AAAA and MX for np
    // psd=y: the organizational domain is the name below it.
    Zone psd;
    psd.txt("_dmarc.example", "v=DMARC1; p=reject; psd=y");
    EXPECT_EQ(*organizational_domain(psd.lookup(), "a.b.example"), "b.example");
    auto p = dmarc(psd, "b.example", spf_of(Spf::pass, "a.b.example"));
    EXPECT_EQ(p.result, "pass");
    p = dmarc(psd, "b.example", spf_of(Spf::pass, "c.example"));
    EXPECT_EQ(p.result, "fail");
    EXPECT_EQ(p.policy_domain, "example");
    // psd=n stops the walk where it is found.
    Zone psdn;
    psdn.txt("_dmarc.example.com", "v=DMARC1; p=none");
    psdn.txt("_dmarc.dept.example.com", "v=DMARC1; p=reject; psd=n");
    EXPECT_EQ(*organizational_domain(psdn.lookup(), "a.dept.example.com"), "dept.example.com");
}

TEST(Dmarc, AlignmentAndPolicies) {
    Zone z;
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject; np=reject; sp=none; aspf=s");
    z.add("example.com", RrType::mx, "mx.example.com");
    z.add("real.example.com", RrType::a, "192.0.2.1");
    // Strict SPF: a subdomain does not align; DKIM (relaxed) does.
    EXPECT_EQ(dmarc(z, "example.com", spf_of(Spf::pass, "bounce.example.com")).result, "fail");
    EXPECT_EQ(dmarc(z, "example.com", spf_of(Spf::fail, ""), {dkim_of("pass", "mail.example.com")}).result, "pass");
    // l= covering less than the body is not a pass for DMARC.
    auto v = dmarc(z, "example.com", spf_of(Spf::fail, ""), {dkim_of("pass", "example.com", false)});
    EXPECT_EQ(v.result, "fail");
    EXPECT_EQ(v.disposition, "reject");
    // sp for an existing subdomain, np for one that does not exist.
    EXPECT_EQ(dmarc(z, "real.example.com", spf_of(Spf::none, "")).policy, "none");
    EXPECT_EQ(dmarc(z, "ghost.example.com", spf_of(Spf::none, "")).policy, "reject");
    // t=y: one step milder.
    Zone t;
    t.txt("_dmarc.example.org", "v=DMARC1; p=reject; t=y");
    v = dmarc(t, "example.org", spf_of(Spf::softfail, "example.org"));
    EXPECT_EQ(v.policy, "reject");
    EXPECT_EQ(v.disposition, "quarantine");
    // No record, DNS failure, bad From.
    Zone none;
    EXPECT_EQ(dmarc(none, "example.net", spf_of(Spf::pass, "example.net")).result, "none");
    none.failing.insert("_dmarc.broken.example");
    EXPECT_EQ(dmarc(none, "broken.example", spf_of(Spf::pass, "broken.example")).result, "temperror");
    EXPECT_EQ(check_dmarc(z.lookup(), "Subject: x\n\nb\n", spf_of(Spf::pass, "example.com"), {}).result, "permerror");
    EXPECT_EQ(check_dmarc(z.lookup(), "From: a@example.com\nFrom: b@example.com\n\nb\n", spf_of(Spf::pass, "example.com"), {})
                  .reason,
              "several From fields");
    EXPECT_EQ(check_dmarc(z.lookup(), "From: a@example.com, b@evil.example\n\nb\n", spf_of(Spf::pass, "example.com"), {})
                  .result,
              "permerror");
}

TEST(Checks, OurResultsAreRemovedOthersKept) {
    std::string m = "Received: x\nAuthentication-Results: MX.here.test;\n\tdmarc=pass\nAuthentication-Results: "
                    "other.example; spf=pass\nAuthentication-Results:  mx.here.test (forged); spf=pass\nSubject: s\n\nbody\n";
    EXPECT_EQ(remove_our_results(m, "mx.here.test"),
              "Received: x\nAuthentication-Results: other.example; spf=pass\nSubject: s\n\nbody\n");
    EXPECT_EQ(authserv_id_of(" Mx.Here.Test; spf=pass"), "mx.here.test");
    EXPECT_EQ(authserv_id_of("mx.here.test"), "mx.here.test");
    // The body is never touched.
    std::string body_only = "Subject: s\n\nAuthentication-Results: mx.here.test; x\n";
    EXPECT_EQ(remove_our_results(body_only, "mx.here.test"), body_only);
}

TEST(Checks, AllowListStopsEnforcementOnly) {
    Zone z;
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject");
    Config cfg;
    cfg.checks.dmarc_allow = {"lists.example.org", "fwd@relay.example"};
    std::string m = "From: ceo@example.com\nSubject: s\n\nbody\n";
    SpfFacts f{"192.0.2.1", "h.example", "mx.here.test", 0};
    auto c = check_message(cfg, z.lookup(), f, "x@elsewhere.example", m);
    EXPECT_EQ(c.dmarc.result, "fail");
    EXPECT_EQ(c.disposition, "reject");
    c = check_message(cfg, z.lookup(), f, "bounces@sub.lists.example.org", m);
    EXPECT_TRUE(c.allowed);
    EXPECT_EQ(c.disposition, "none");
    EXPECT_EQ(c.dmarc.result, "fail"); // still recorded
    EXPECT_EQ(check_message(cfg, z.lookup(), f, "FWD@relay.example", m).disposition, "none");
    EXPECT_EQ(check_message(cfg, z.lookup(), f, "other@relay.example", m).disposition, "reject");
}

// A slow DNS server holds the message at most the budget (and one question).
TEST(Checks, OneDnsBudgetForAllTheChecks) {
    Zone z;
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject");
    z.txt("example.com", "v=spf1 a:a1.example.com a:a2.example.com -all");
    Config cfg;
    cfg.checks.dns_budget = 1;
    auto inner = z.lookup();
    int asked = 0;
    Lookup slow = [&](const std::string& name, RrType t) {
        asked++;
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        return inner(name, t);
    };
    std::string m = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from; bh=AA==; b=AA==\n"
                    "From: ceo@example.com\nSubject: s\n\nbody\n";
    auto t0 = std::chrono::steady_clock::now();
    auto c = check_message(cfg, slow, {"192.0.2.1", "h.example", "mx.here.test", 0}, "x@example.com", m);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, std::chrono::milliseconds(1900));
    EXPECT_LE(asked, 4);
    EXPECT_EQ(c.disposition, "none"); // what could not be checked is never refused
    EXPECT_EQ(c.dmarc.result, "temperror");
}

// The questions every message needs are asked together, once.
TEST(Checks, FirstQuestionsAskedAtOnce) {
    Zone z;
    z.txt("_dmarc.example.com", "v=DMARC1; p=reject");
    z.txt("example.com", "v=spf1 ip4:192.0.2.1 -all");
    std::string m = signed_message(dkim::Algorithm::ed25519_sha256, z);
    Config cfg;
    auto inner = z.lookup();
    std::vector<std::string> one_by_one;
    Lookup dns = [&](const std::string& name, RrType t) {
        one_by_one.push_back(name);
        return inner(name, t);
    };
    std::vector<std::string> batch;
    LookupAll all = [&](const std::vector<std::pair<std::string, RrType>>& q) {
        std::vector<DnsAnswer> out;
        for (auto& [name, t] : q) batch.push_back(name), out.push_back(inner(name, t));
        return out;
    };
    auto c = check_message(cfg, dns, {"192.0.2.1", "h.example", "mx.here.test", 1700000100}, "alice@example.com", m, all);
    EXPECT_EQ(batch, (std::vector<std::string>{"example.com", "_dmarc.example.com", "sel._domainkey.example.com"}));
    EXPECT_TRUE(one_by_one.empty());
    EXPECT_EQ(c.spf.result, Spf::pass);
    EXPECT_EQ(c.dkim[0].result, "pass");
    EXPECT_EQ(c.dmarc.result, "pass");
}

TEST(Dnsbl, NamesVerdictsAndTheAllowList) {
    EXPECT_EQ(dnsbl_name("192.0.2.99", "bl.example"), "99.2.0.192.bl.example");
    EXPECT_EQ(dnsbl_name("2001:db8:1:2:3:4:567:89ab", "bl.example"),
              "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example"); // RFC 5782 2.4
    EXPECT_EQ(dnsbl_name("::ffff:192.0.2.1", "bl.example"), "1.2.0.192.bl.example");
    EXPECT_EQ(dnsbl_name("not an address", "bl.example"), "");
    auto answer = [](std::vector<std::string> v) {
        DnsAnswer a;
        a.kind = v.empty() ? DnsAnswer::nxdomain : DnsAnswer::found;
        a.values = std::move(v);
        return a;
    };
    DnsAnswer txt = answer({"listed\r\nInjected: yes"});
    auto any = parse_dnsbl_zone("bl.example");
    ASSERT_TRUE(any);
    auto v = dnsbl_verdict(*any, answer({"127.0.0.2"}), txt);
    EXPECT_TRUE(v.listed);
    EXPECT_EQ(v.reason, "listedInjected: yes"); // control characters dropped
    EXPECT_FALSE(dnsbl_verdict(*any, answer({}), {}).listed);
    EXPECT_FALSE(dnsbl_verdict(*any, answer({"127.0.0.1"}), {}).listed); // RFC 5782: never a listing
    EXPECT_FALSE(dnsbl_verdict(*any, answer({"10.0.0.2"}), {}).listed);
    for (const char* refused : {"127.255.255.252", "127.255.255.254", "127.255.255.255"}) {
        auto r = dnsbl_verdict(*any, answer({refused}), {});
        EXPECT_FALSE(r.listed) << refused;
        EXPECT_NE(r.error.find("not a listing"), std::string::npos);
    }
    auto failed = dnsbl_verdict(*any, DnsAnswer{}, {});
    EXPECT_FALSE(failed.listed);
    EXPECT_NE(failed.error.find("DNS failure"), std::string::npos);
    auto zen = parse_dnsbl_zone("ZEN.example.=127.0.0.2-127.0.0.11,127.0.0.20");
    ASSERT_TRUE(zen);
    EXPECT_EQ(zen->zone, "zen.example");
    EXPECT_TRUE(dnsbl_verdict(*zen, answer({"127.0.0.11"}), {}).listed);
    EXPECT_TRUE(dnsbl_verdict(*zen, answer({"127.0.0.20"}), {}).listed);
    EXPECT_FALSE(dnsbl_verdict(*zen, answer({"127.0.0.12"}), {}).listed);
    // A list that mixes a refusal with a listing is not believed.
    EXPECT_FALSE(dnsbl_verdict(*zen, answer({"127.255.255.254", "127.0.0.2"}), {}).listed);
    EXPECT_FALSE(dnsbl_verdict(*zen, answer({"127.0.0.2", "127.255.255.254"}), {}).listed);
    for (const char* bad : {"", "nodot", "bl..example", "bl.example=127.0.0.5-127.0.0.2", "bl.example=x", "a b.example"})
        EXPECT_FALSE(parse_dnsbl_zone(bad)) << bad;
    std::vector<std::string> allow{"192.0.2.0/24", "2001:db8::/32", "lists.example"};
    EXPECT_TRUE(dnsbl_allowed(allow, "192.0.2.7", ""));
    EXPECT_FALSE(dnsbl_allowed(allow, "192.0.3.7", ""));
    EXPECT_TRUE(dnsbl_allowed(allow, "2001:db8:ffff::1", ""));
    EXPECT_TRUE(dnsbl_allowed(allow, "198.51.100.1", "mail.lists.example"));
    EXPECT_FALSE(dnsbl_allowed(allow, "198.51.100.1", "lists.example.evil"));
}
