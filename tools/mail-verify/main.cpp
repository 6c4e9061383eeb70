// mail-verify: the checks mail-smtpd makes of inbound mail, for one
// message on standard input and the facts of its SMTP session given as
// options (SPF, DKIM, DMARC); prints the Authentication-Results field the MX would add (with
// --json, each method's result and reason). Exit 0 whatever the verdict.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/files.hpp"
#include "base/json.hpp"
#include "base/log.hpp"
#include "base/tool.hpp"
#include "message/header.hpp"
#include "net/dns.hpp"
#include "verify/checks.hpp"

namespace {

using mail::Errc;
using mail::exit_status;

struct Args {
    std::optional<std::string> config;
    std::string ip, helo, mail_from, authserv_id;
    std::vector<std::string> dns;
    bool json = false;
};

int run(const Args& a) {
    auto cfg = mail::load_config(a.config);
    if (!cfg) return mail::log::error("config", cfg.error()), exit_status(Errc::config);
    std::string sender = a.mail_from == "<>" ? "" : a.mail_from;
    if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>') sender = sender.substr(1, sender.size() - 2);
    if (!sender.empty() && (sender.find('@') == std::string::npos || sender.find_first_of(" \t\r\n") != std::string::npos)) {
        fmt::print(stderr, "mail-verify: --mail-from '{}' is not an address (\"\" or \"<>\" for the null sender)\n",
                   a.mail_from);
        return exit_status(Errc::usage);
    }
    unsigned char buf[16];
    std::string ip = a.ip;
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
        fmt::print(stderr, "mail-verify: --ip '{}' is not an IP address\n", a.ip);
        return exit_status(Errc::usage);
    }
    auto text = mail::read_fd(STDIN_FILENO, static_cast<size_t>(cfg->delivery.max_message_size), "the message");
    if (!text) {
        fmt::print(stderr, "mail-verify: {}\n", text.error().user);
        return exit_status(text.error().code);
    }
    if (text->size() > static_cast<size_t>(cfg->delivery.max_message_size)) {
        fmt::print(stderr, "mail-verify: the message is larger than delivery.max_message_size ({} bytes)\n",
                   cfg->delivery.max_message_size);
        return exit_status(Errc::data);
    }
    text->shrink(mail::crlf_to_lf(text->data(), text->size()));
    if (auto h = mail::parse_header(text->view()); !h) {
        fmt::print(stderr, "mail-verify: the message on standard input: {}\n", h.error().user);
        return exit_status(Errc::data);
    }
    std::string servers;
    for (auto& s : a.dns) servers += (servers.empty() ? "" : ",") + s;
    if (servers.empty()) servers = !cfg->checks.dns_servers.empty() ? cfg->checks.dns_servers : cfg->outbound.dns_servers;
    auto resolver = mail::net::Resolver::open(servers, cfg->checks.dns_timeout * 1000);
    if (!resolver) {
        fmt::print(stderr, "mail-verify: {}\n", resolver.error().user);
        return exit_status(resolver.error().code == Errc::config ? Errc::usage : Errc::tempfail);
    }
    mail::verify::Lookup lookup = [&](const std::string& name, mail::net::RrType t) { return resolver->query(name, t); };
    std::string id = a.authserv_id.empty() ? mail::host_name(*cfg) : a.authserv_id;
    mail::verify::LookupAll all = [&](const std::vector<std::pair<std::string, mail::net::RrType>>& q) {
        return resolver->query_all(q);
    };
    auto c = mail::verify::check_message(*cfg, lookup, {ip, a.helo, id, time(nullptr)}, sender, text->view(), all);
    const auto& spf = c.spf;
    const auto& dkim = c.dkim;
    const auto& dmarc = c.dmarc;
    const std::string& field = c.field;
    if (!a.json) {
        fmt::print("{}\n", field);
        return 0;
    }
    mail::JsonWriter j;
    j.begin_object().key("authentication_results").value(field).key("spf").begin_object();
    j.key("result").value(mail::verify::spf_name(spf.result));
    j.key("identity").value(spf.helo ? "helo" : "mailfrom");
    j.key("domain").value(spf.domain).key("sender").value(spf.sender);
    j.key("reason").value(spf.reason).key("explanation").value(spf.explanation);
    j.end_object().key("dkim").begin_array();
    for (auto& d : dkim) {
        j.begin_object().key("result").value(d.result).key("reason").value(d.reason);
        j.key("domain").value(d.domain).key("selector").value(d.selector).key("identity").value(d.identity);
        j.key("algorithm").value(d.algorithm).key("whole_body").value(d.whole_body).key("testing").value(d.testing);
        j.end_object();
    }
    j.end_array().key("arc").begin_object().key("result").value(c.arc.result).key("reason").value(c.arc.reason);
    j.key("domain").value(c.arc.domain).key("instances").value(static_cast<int64_t>(c.arc.instances)).end_object();
    j.key("dmarc").begin_object();
    j.key("result").value(dmarc.result).key("reason").value(dmarc.reason);
    j.key("from_domain").value(dmarc.from_domain).key("policy_domain").value(dmarc.policy_domain);
    j.key("policy").value(dmarc.policy).key("disposition").value(dmarc.disposition);
    j.key("spf_aligned").value(dmarc.spf_aligned).key("dkim_aligned").value(dmarc.dkim_aligned);
    j.key("testing").value(dmarc.record && dmarc.record->testing).key("allowed").value(c.allowed);
    j.end_object().end_object();
    fmt::print("{}\n", j.str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Args a;
    CLI::App app{"mail-verify: SPF, DKIM and DMARC for one message and its SMTP facts; prints the Authentication-Results field"};
    app.add_option("--config", a.config, "configuration file");
    app.add_option("--ip", a.ip, "the client's IP address")->required();
    app.add_option("--helo", a.helo, "the name the client gave in HELO/EHLO")->required();
    app.add_option("--mail-from", a.mail_from, "the envelope sender (\"\" or \"<>\": the null sender)")->required();
    app.add_option("--dns", a.dns, "DNS server HOST:PORT (repeatable; default: checks.dns_servers)");
    app.add_option("--authserv-id", a.authserv_id, "the name in the field (default: the host name)");
    app.add_flag("--json", a.json, "each method's result and reason as JSON");
    return mail::run_tool("mail-verify", app, argc, argv, [&] { return run(a); });
}
