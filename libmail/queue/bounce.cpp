#include "bounce.hpp"

#include <fmt/format.h>

#include "message/address.hpp"
#include "message/header.hpp"
#include "smtp/command.hpp"

namespace mail::queue {

bool wants_failure_report(const Recipient& r) {
    if (r.notify.empty()) return true;
    std::string n = ascii_lower(r.notify);
    return n.find("failure") != std::string::npos;
}

bool wants_delay_report(const Recipient& r) {
    if (r.notify.empty()) return true;
    return ascii_lower(r.notify).find("delay") != std::string::npos;
}

namespace {

std::string original_recipient(const Recipient& r) {
    size_t semi = r.orcpt.find(';');
    if (semi == std::string::npos) return "";
    auto addr = smtp::decode_xtext(r.orcpt.substr(semi + 1));
    return addr ? r.orcpt.substr(0, semi) + "; " + *addr : "";
}

} // namespace

std::string make_bounce(const Envelope& env, std::string_view message,
                        const std::vector<RcptState>& failed, const std::string& host,
                        int64_t now, Report kind) {
    const bool delayed = kind == Report::delayed;
    std::string boundary = env.id + "/" + host;
    std::string s = fmt::format(
        "From: Mail Delivery System <MAILER-DAEMON@{0}>\nTo: <{1}>\n"
        "Subject: {5}\nDate: {2}\n"
        "Message-ID: <{3}.{6}@{0}>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"{4}\"\n\n"
        "This is a MIME-encapsulated message.\n\n--{4}\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at {0}.\n\n{7}\n\n",
        host, single_line(env.sender), format_date(now), env.id, boundary,
        delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender",
        delayed ? fmt::format("delay.{}", now) : "bounce",
        delayed ? "Your message could not be delivered yet to one or more recipients.\n"
                  "It will be retried; you need not send it again."
                : "Your message could not be delivered to one or more recipients.");
    for (auto& f : failed) s += fmt::format("<{}>: {}\n", single_line(f.address), single_line(f.text));
    s += fmt::format("\n--{}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; {}\n",
                     boundary, host);
    if (auto id = smtp::decode_xtext(env.envid); id && !id->empty())
        s += "Original-Envelope-Id: " + single_line(*id) + "\n";
    s += "Arrival-Date: " + format_date(env.arrived) + "\n";
    for (auto& f : failed) {
        s += "\nFinal-Recipient: rfc822; " + single_line(f.address) + "\n";
        for (auto& r : env.rcpts)
            if (r.address == f.address && !original_recipient(r).empty())
                s += "Original-Recipient: " + single_line(original_recipient(r)) + "\n";
        std::string status = delayed ? (f.dsn.starts_with("4.") ? f.dsn : "4.4.7")
                             : f.dsn.empty() || f.dsn[0] != '5' ? "5.4.7" : f.dsn;
        // A remote server's reply is recorded as "host said: 550 ..."
        size_t said = f.text.find(" said: ");
        std::string diag = said != std::string::npos ? "smtp; " + f.text.substr(said + 7)
                                                     : "X-Facteur; " + f.text;
        s += fmt::format("Action: {}\nStatus: {}\nDiagnostic-Code: {}\n",
                         delayed ? "delayed" : "failed", status, single_line(diag));
    }
    bool headers_only = delayed || ascii_lower(env.ret) == "hdrs";
    std::string_view returned = message;
    if (headers_only) {
        auto h = parse_header(message);
        returned = message.substr(0, h ? h->body_offset : 0);
    }
    s += fmt::format("\n--{}\nContent-Type: {}\n\n", boundary,
                     headers_only ? "text/rfc822-headers" : "message/rfc822");
    s += returned;
    if (!returned.empty() && returned.back() != '\n') s += "\n";
    return s + "\n--" + boundary + "--\n";
}

} // namespace mail::queue
