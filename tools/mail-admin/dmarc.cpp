// mail-admin dmarc send|report|import: the DMARC aggregate reports we send
// about the mail we receive, and those others send about our domains.
#include <ctime>

#include "admin.hpp"
#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "net/dns.hpp"
#include "reports/feedback.hpp"
#include "reports/log.hpp"
#include "reports/send.hpp"
#include "spool/spool.hpp"

namespace {

// Queue the reports of the days before today; each day's rows of a domain
// are forgotten once its report is queued (a crash in between sends it
// again, with the same report ID).
void send(Admin& a, bool dry_run) {
    auto& cfg = a.config();
    if (cfg.checks.report_from.empty()) {
        a.fail(mail::Errc::config, "checks.report_from is not set: no report is recorded or sent");
        return;
    }
    auto db = must(a, mail::reports::open_log(cfg));
    int64_t now = mail::now();
    auto pending = must(a, mail::reports::pending(db, now - now % 86400));
    const std::string& servers = !cfg.checks.dns_servers.empty() ? cfg.checks.dns_servers : cfg.outbound.dns_servers;
    auto resolver = must(a, mail::net::Resolver::open(servers, cfg.checks.dns_timeout * 1000));
    mail::verify::Lookup dns = [&resolver](const std::string& name, mail::net::RrType t) {
        return resolver.query(name, t);
    };
    auto spool = must(a, mail::queue::Spool::open(mail::queue::spool_dir(cfg)));
    mail::JsonWriter w;
    w.begin_array();
    bool retry = false;
    for (auto& p : pending) {
        auto out = mail::reports::make_report(cfg, dns, p, now);
        for (auto& r : out.refused) mail::log::warn("dmarc.report", "{} {}: {}", p.feedback.domain, mail::reports::iso_day(p.day), r);
        std::string id;
        if (out.retry) {
            retry = true;
        } else if (!dry_run) {
            if (!out.to.empty()) {
                mail::queue::Envelope env;
                env.arrived = now;
                env.sender = cfg.checks.report_from;
                for (auto& t : out.to) env.rcpts.push_back(mail::queue::Recipient{t, "NEVER", ""});
                env.client = "dmarc-report-of=" + p.feedback.domain; // signed by the queue
                must(a, spool.add(env, out.message));
                id = env.id;
            }
            must(a, mail::reports::forget(db, p.day, p.feedback.domain));
        }
        int64_t messages = 0;
        for (auto& r : p.feedback.rows) messages += r.count;
        std::string state = out.retry ? "retry" : out.to.empty() ? "no destination" : dry_run ? "would send" : "queued";
        if (a.json) {
            w.begin_object().key("domain").value(p.feedback.domain).key("day").value(mail::reports::iso_day(p.day));
            w.key("messages").value(messages).key("state").value(state).key("to").strings(out.to);
            w.key("refused").strings(out.refused).key("queue_id").value(id).end_object();
        } else {
            std::string to;
            for (auto& t : out.to) to += (to.empty() ? "" : ", ") + t;
            fmt::print("{} {} {} messages: {}{}{}\n", mail::reports::iso_day(p.day), p.feedback.domain, messages, state,
                       to.empty() ? "" : " to " + to, id.empty() ? "" : " (" + id + ")");
        }
    }
    if (a.json) print_json(w.end_array());
    if (retry) a.fail(mail::Errc::tempfail, "DNS failed for some reports: they stay for the next run");
}

void report(Admin& a, const std::string& domain) {
    auto db = must(a, mail::reports::open_log(a.config()));
    auto sources = must(a, mail::reports::summary(db, domain));
    if (a.json) {
        mail::JsonWriter w;
        w.begin_array();
        for (auto& s : sources) {
            w.begin_object().key("domain").value(s.domain).key("source_ip").value(s.source_ip);
            w.key("header_from").value(s.header_from).key("reporters").strings(s.reporters);
            w.key("messages").value(s.messages).key("dmarc_pass").value(s.dmarc_pass);
            w.key("spf_pass").value(s.spf_pass).key("dkim_pass").value(s.dkim_pass);
            w.key("quarantined").value(s.quarantined).key("rejected").value(s.rejected);
            w.key("first").value(mail::reports::iso_day(s.first)).key("last").value(mail::reports::iso_day(s.last));
            w.end_object();
        }
        print_json(w.end_array());
        return;
    }
    if (sources.empty()) {
        fmt::print("no report received{}\n", domain.empty() ? "" : " about " + domain);
        return;
    }
    fmt::print("{:<20} {:<39} {:>8} {:>10} {:>8} {:>8}  {}\n", "domain", "source", "messages", "dmarc pass",
               "spf pass", "dkim pass", "reported by");
    for (auto& s : sources) {
        std::string by;
        for (auto& r : s.reporters) by += (by.empty() ? "" : ", ") + r;
        std::string name = s.header_from == s.domain ? s.domain : s.header_from;
        fmt::print("{:<20} {:<39} {:>8} {:>10} {:>8} {:>8}  {}{}\n", name, s.source_ip, s.messages, s.dmarc_pass,
                   s.spf_pass, s.dkim_pass, by,
                   s.dmarc_pass == s.messages ? "" : fmt::format(" ({} failed DMARC)", s.messages - s.dmarc_pass));
    }
}

// Reports from files: a whole message, or the XML, gzip or zip itself.
void import(Admin& a, const std::vector<std::string>& files) {
    auto db = must(a, mail::reports::open_log(a.config()));
    for (auto& file : files) {
        auto data = must(a, mail::read_file(file, 64u << 20));
        auto xml = mail::reports::unpack(data);
        auto found = xml ? mail::Result<std::vector<mail::reports::Feedback>>(std::vector<mail::reports::Feedback>{
                               must(a, mail::reports::parse_feedback(*xml))})
                         : mail::reports::reports_in_message(data);
        if (!found) {
            a.fail(mail::Errc::data, file + ": " + found.error().user);
            continue;
        }
        for (auto& f : *found) {
            if (!a.directory().domain(f.domain)) {
                a.fail(mail::Errc::data, file + ": the report is about " + f.domain + ", not a domain of ours");
                continue;
            }
            bool added = must(a, mail::reports::add_received(db, f, time(nullptr)));
            fmt::print("{}: {} report {} about {}, {} records{}\n", file, f.org_name, f.report_id, f.domain,
                       f.rows.size(), added ? "" : " (already there)");
        }
    }
}

} // namespace

void add_dmarc_commands(CLI::App& app, Admin& a) {
    auto* dm = app.add_subcommand("dmarc", "DMARC aggregate reports: send ours, summarise those received")
                   ->require_subcommand(1);
    auto* s = dm->add_subcommand("send", "queue the reports of the days before today (daily, from a timer)");
    s->add_flag("--dry-run", a.args.force, "show what would be sent; send and forget nothing");
    s->callback(guard([&a] { send(a, a.args.force); }));
    auto* r = dm->add_subcommand("report", "who sends as our domains, from the reports received");
    r->add_option("domain", a.args.domain, "one domain (default: all)");
    r->callback(guard([&a] { report(a, a.args.domain); }));
    auto* i = dm->add_subcommand("import", "add reports from files (a message, XML, gzip or zip)");
    i->add_option("files", a.args.values)->required();
    i->callback(guard([&a] { import(a, a.args.values); }));
}
