// DMARC aggregate reports (libmail/reports): the <feedback> document both
// ways, its packings, the evaluations log and the reports made from it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "message/mime.hpp"
#include "reports/feedback.hpp"
#include "reports/log.hpp"
#include "reports/send.hpp"

using namespace mail;
using namespace mail::reports;
namespace fs = std::filesystem;

namespace {

std::string corpus(const std::string& name) {
    std::ifstream in(std::string(FACTEUR_SOURCE_DIR) + "/tests/fuzz/corpus/fuzz_dmarc_report/" + name,
                     std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Feedback sample() {
    Feedback f;
    f.org_name = "mx.example.net";
    f.email = "dmarc@example.net";
    f.report_id = "2025-12-07.example.org@mx.example.net";
    f.begin = 1765065600, f.end = 1765151999;
    f.domain = "example.org", f.p = "reject", f.np = "reject", f.adkim = "s";
    Row r;
    r.source_ip = "192.0.2.1", r.count = 4, r.disposition = "reject", r.envelope_from = "bad.example";
    r.header_from = "example.org";
    r.dkim_results.push_back({"example.org", "s<1>", "", "fail"});
    r.spf_result = {"bad.example", "", "mfrom", "fail"};
    f.rows.push_back(r);
    return f;
}

} // namespace

TEST(DmarcReport, WrittenReportParsesBack) {
    Feedback f = sample();
    std::string xml = write_feedback(f);
    EXPECT_NE(xml.find("xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\""), std::string::npos);
    EXPECT_NE(xml.find("<selector>s&lt;1&gt;</selector>"), std::string::npos);
    auto back = parse_feedback(xml);
    ASSERT_TRUE(back) << back.error().user;
    EXPECT_EQ(back->org_name, f.org_name);
    EXPECT_EQ(back->report_id, f.report_id);
    EXPECT_EQ(back->begin, f.begin);
    EXPECT_EQ(back->end, f.end);
    EXPECT_EQ(back->domain, "example.org");
    EXPECT_EQ(back->p, "reject");
    EXPECT_EQ(back->np, "reject");
    EXPECT_EQ(back->adkim, "s");
    ASSERT_EQ(back->rows.size(), 1u);
    const Row& r = back->rows[0];
    EXPECT_EQ(r.source_ip, "192.0.2.1");
    EXPECT_EQ(r.count, 4);
    EXPECT_EQ(r.disposition, "reject");
    EXPECT_EQ(r.envelope_from, "bad.example");
    ASSERT_EQ(r.dkim_results.size(), 1u);
    EXPECT_EQ(r.dkim_results[0].selector, "s<1>");
    EXPECT_EQ(r.spf_result.scope, "mfrom");
    EXPECT_EQ(r.spf_result.result, "fail");
}

TEST(DmarcReport, ReadsTheReportsReceiversSend) {
    // RFC 7489's format without a namespace (as Google sends it), XML,
    // gzip, zip, and a message with the zip in base64.
    for (const char* name : {"google.xml", "report.xml.gz", "report.zip"}) {
        auto xml = unpack(corpus(name));
        ASSERT_TRUE(xml) << name << ": " << xml.error().user;
        auto f = parse_feedback(*xml);
        ASSERT_TRUE(f) << name << ": " << f.error().user;
        EXPECT_EQ(f->org_name, "google.com");
        EXPECT_EQ(f->domain, "example.test");
        EXPECT_EQ(f->p, "quarantine");
        ASSERT_EQ(f->rows.size(), 2u);
        EXPECT_EQ(f->rows[1].source_ip, "203.0.113.9");
        EXPECT_EQ(f->rows[1].count, 7);
        EXPECT_EQ(f->rows[1].disposition, "quarantine");
        EXPECT_EQ(f->rows[0].dkim_results.at(0).selector, "mail");
        EXPECT_EQ(f->rows[1].spf_result.result, "softfail");
    }
    std::string m = corpus("message.eml");
    EXPECT_TRUE(is_aggregate_report("Report domain: example.test Submitter: google.com Report-ID: 123"));
    EXPECT_FALSE(is_aggregate_report("Re: report domain"));
    auto found = reports_in_message(m);
    ASSERT_TRUE(found) << found.error().user;
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].rows.size(), 2u);
}

TEST(DmarcReport, RefusesWhatIsNotAReportAndStaysBounded) {
    auto dtd = parse_feedback(corpus("dtd.xml"));
    ASSERT_FALSE(dtd);
    EXPECT_NE(dtd.error().user.find("DTD"), std::string::npos);
    EXPECT_FALSE(parse_feedback("<other/>"));
    EXPECT_FALSE(parse_feedback("<feedback><policy_published>"));
    EXPECT_FALSE(parse_feedback("<feedback></feedback>")); // no domain
    std::string many = "<feedback><policy_published><domain>a.test</domain></policy_published>";
    for (int i = 0; i < 11; i++) many += "<record><row><count>1</count></row></record>";
    auto limited = parse_feedback(many + "</feedback>", 10);
    ASSERT_FALSE(limited);
    EXPECT_NE(limited.error().user.find("more than 10 records"), std::string::npos);
    std::string deep = "<feedback>";
    for (int i = 0; i < 20; i++) deep += "<x>";
    EXPECT_FALSE(parse_feedback(deep));
    // A gzip bomb stops at the bound; a damaged archive is an error.
    std::string bomb = gzip(std::string(4 << 20, '<'));
    auto big = unpack(bomb, 1 << 20);
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().user.find("larger than"), std::string::npos);
    std::string zip = corpus("report.zip");
    EXPECT_FALSE(unpack(zip.substr(0, zip.size() - 30)));
    std::string gz = corpus("report.xml.gz");
    EXPECT_FALSE(unpack(gz.substr(0, gz.size() / 2)));
    EXPECT_FALSE(unpack("plain text"));
    EXPECT_FALSE(reports_in_message("Subject: Report Domain: x\n\nno attachment\n"));
}

class DmarcLog : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/reports_test.XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        cfg_.state_dir = tmpl;
        cfg_.hostname = "mx.example.net";
        cfg_.checks.report_from = "dmarc@example.net";
        auto d = open_log(cfg_);
        ASSERT_TRUE(d) << d.error().detail;
        db_.emplace(std::move(*d));
    }
    void TearDown() override { fs::remove_all(cfg_.state_dir); }
    verify::Checks checked(const std::string& from_domain, const std::string& result) {
        verify::Checks c;
        c.spf.result = verify::Spf::pass;
        c.spf.domain = "mail." + from_domain;
        c.dkim.push_back({result, "", from_domain, "sel", "@" + from_domain, "rsa-sha256", "", true, false});
        c.dmarc.result = result;
        c.dmarc.from_domain = from_domain;
        c.dmarc.policy_domain = from_domain;
        c.dmarc.record.emplace();
        c.dmarc.record->p = "reject";
        c.dmarc.record->rua = {"mailto:rua@" + from_domain, "mailto:reports@other.example!1k"};
        c.dmarc.dkim_aligned = result == "pass";
        c.disposition = result == "pass" ? "none" : "reject";
        return c;
    }
    Config cfg_;
    std::optional<Db> db_;
};

TEST_F(DmarcLog, CountsEvaluationsPerDayAndMakesOneReportPerDomain) {
    int64_t day = 1765065600; // 2025-12-07
    ASSERT_TRUE(record(*db_, checked("example.org", "pass"), "192.0.2.1", day + 10));
    ASSERT_TRUE(record(*db_, checked("example.org", "pass"), "192.0.2.1", day + 20));
    ASSERT_TRUE(record(*db_, checked("example.org", "fail"), "198.51.100.7", day + 30));
    ASSERT_TRUE(record(*db_, checked("example.com", "pass"), "192.0.2.1", day + 40));
    ASSERT_TRUE(record(*db_, checked("example.org", "pass"), "192.0.2.1", day + 86400 + 1)); // the next day
    auto none = checked("example.org", "pass");
    none.dmarc.record->rua.clear(); // no rua=: nothing to report
    ASSERT_TRUE(record(*db_, none, "192.0.2.1", day + 50));
    auto p = pending(*db_, day + 86400);
    ASSERT_TRUE(p) << p.error().detail;
    ASSERT_EQ(p->size(), 2u); // the day's two domains; not the next day
    Pending& org = (*p)[1];
    EXPECT_EQ(org.feedback.domain, "example.org");
    EXPECT_EQ(org.feedback.begin, day);
    ASSERT_EQ(org.feedback.rows.size(), 2u);
    EXPECT_EQ(org.feedback.rows[0].count, 2);
    EXPECT_EQ(org.feedback.rows[0].dkim, "pass");
    EXPECT_EQ(org.feedback.rows[1].source_ip, "198.51.100.7");
    EXPECT_EQ(org.feedback.rows[1].disposition, "reject");
    EXPECT_EQ(org.feedback.rows[1].dkim_results.at(0).selector, "sel");
    // other.example agrees to take example.org's reports; the 1k limit
    // is above this report's size.
    std::map<std::string, std::string> zone{{"example.org._report._dmarc.other.example", "v=DMARC1"}};
    verify::Lookup dns = [&](const std::string& name, net::RrType) {
        net::DnsAnswer a;
        auto it = zone.find(name);
        a.kind = it == zone.end() ? net::DnsAnswer::nxdomain : net::DnsAnswer::found;
        if (it != zone.end()) a.values = {it->second};
        return a;
    };
    auto out = make_report(cfg_, dns, org, day + 86400 + 600);
    EXPECT_FALSE(out.retry);
    EXPECT_EQ(out.to, (std::vector<std::string>{"rua@example.org", "reports@other.example"}));
    EXPECT_NE(out.message.find("Subject: Report Domain: example.org Submitter: mx.example.net Report-ID: "
                               "<2025-12-07.example.org@mx.example.net>"),
              std::string::npos);
    EXPECT_NE(out.message.find("example.net!example.org!1765065600!1765151999!20429.xml.gz"), std::string::npos);
    auto back = reports_in_message(out.message);
    ASSERT_TRUE(back) << back.error().user;
    EXPECT_EQ((*back)[0].rows.size(), 2u);
    EXPECT_EQ((*back)[0].email, "dmarc@example.net");
    // Without the outside agreement, that address is dropped.
    zone.clear();
    out = make_report(cfg_, dns, org, day + 86400 + 600);
    EXPECT_EQ(out.to, std::vector<std::string>{"rua@example.org"});
    ASSERT_EQ(out.refused.size(), 1u);
    EXPECT_NE(out.refused[0].find("does not agree"), std::string::npos);
    ASSERT_TRUE(forget(*db_, day, "example.org"));
    p = pending(*db_, day + 2 * 86400);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->size(), 2u); // example.com that day, example.org the next
    EXPECT_EQ((*p)[0].feedback.domain, "example.com");
    EXPECT_EQ((*p)[1].day, day + 86400);
}

TEST_F(DmarcLog, ReceivedReportsAreKeptOnceAndSummarised) {
    auto f = parse_feedback(corpus("google.xml"));
    ASSERT_TRUE(f);
    auto added = add_received(*db_, *f, 1765200000);
    ASSERT_TRUE(added && *added);
    added = add_received(*db_, *f, 1765200001);
    ASSERT_TRUE(added);
    EXPECT_FALSE(*added); // the same report again
    Feedback other = *f;
    other.org_name = "Yahoo";
    other.report_id = "y1";
    other.rows.resize(1);
    ASSERT_TRUE(add_received(*db_, other, 1765200002));
    auto s = summary(*db_, "example.test");
    ASSERT_TRUE(s) << s.error().detail;
    ASSERT_EQ(s->size(), 2u);
    EXPECT_EQ((*s)[0].source_ip, "192.0.2.25");
    EXPECT_EQ((*s)[0].messages, 6);
    EXPECT_EQ((*s)[0].dmarc_pass, 6);
    EXPECT_EQ((*s)[0].reporters, (std::vector<std::string>{"Yahoo", "google.com"}));
    EXPECT_EQ((*s)[1].messages, 7);
    EXPECT_EQ((*s)[1].dmarc_pass, 0);
    EXPECT_EQ((*s)[1].quarantined, 7);
    auto none = summary(*db_, "other.test");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}
