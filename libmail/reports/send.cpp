#include "send.hpp"

#include <ctime>
#include <fmt/format.h>

#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "verify/dmarc.hpp"

namespace mail::reports {

namespace {

// The %xx escapes of a mailto: URI.
std::string percent_decoded(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// "10m" -> octets; 0 when there is no limit.
uint64_t size_limit(std::string_view s) {
    if (s.empty()) return 0;
    uint64_t n = 0;
    size_t i = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && n < (1ull << 40); i++)
        n = n * 10 + static_cast<uint64_t>(s[i] - '0');
    switch (i < s.size() ? std::tolower(static_cast<unsigned char>(s[i])) : 0) {
    case 'k': return n << 10;
    case 'm': return n << 20;
    case 'g': return n << 30;
    case 't': return n << 40;
    default: return n;
    }
}

} // namespace

std::string iso_day(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

Outgoing make_report(const Config& cfg, const verify::Lookup& dns, Pending& p, int64_t now) {
    Outgoing out;
    Feedback& f = p.feedback;
    std::string from = cfg.checks.report_from;
    std::string our_domain = from.substr(from.rfind('@') + 1);
    f.org_name = cfg.checks.report_org.empty() ? host_name(cfg) : cfg.checks.report_org;
    f.email = from;
    // The same ID when a report is made again (after a crash before it was
    // forgotten): receivers take it once.
    f.report_id = fmt::format("{}.{}@{}", iso_day(p.day), f.domain, host_name(cfg));
    std::string xml = write_feedback(f);
    std::string gz = gzip(xml);
    std::optional<std::string> policy_org;
    for (auto& uri : p.rua) {
        if (ascii_lower(uri.substr(0, 7)) != "mailto:") {
            out.refused.push_back(uri + ": not a mailto: URI");
            continue;
        }
        std::string rest = uri.substr(7);
        size_t bang = rest.find('!');
        uint64_t limit = bang == std::string::npos ? 0 : size_limit(rest.substr(bang + 1));
        std::string addr = percent_decoded(rest.substr(0, bang));
        auto a = parse_address(addr);
        if (!a || a->domain.empty()) {
            out.refused.push_back(uri + ": not an address");
            continue;
        }
        if (limit && gz.size() > limit) {
            out.refused.push_back(fmt::format("{}: the report ({} octets) is over its limit", uri, gz.size()));
            continue;
        }
        std::string host = ascii_lower(a->domain);
        if (!policy_org) {
            auto o = verify::organizational_domain(dns, f.domain);
            if (!o) {
                out.retry = true;
                return out;
            }
            policy_org = *o;
        }
        auto host_org = verify::organizational_domain(dns, host);
        if (!host_org) {
            out.retry = true;
            return out;
        }
        if (*host_org != *policy_org) {
            // RFC 9990: the outside destination agrees to take reports for f.domain.
            auto answer = dns(f.domain + "._report._dmarc." + host, net::RrType::txt);
            if (answer.kind == net::DnsAnswer::failed) {
                out.retry = true;
                return out;
            }
            bool agreed = false;
            for (auto& v : answer.values) agreed |= ascii_lower(v.substr(0, 8)) == "v=dmarc1";
            if (!agreed) {
                out.refused.push_back(uri + ": " + f.domain + "._report._dmarc." + host + " does not agree");
                continue;
            }
        }
        if (std::find(out.to.begin(), out.to.end(), a->str()) == out.to.end()) out.to.push_back(a->str());
    }
    if (out.to.empty()) return out;
    mime::Message m;
    std::string to;
    for (auto& t : out.to) to += (to.empty() ? "" : ", ") + t;
    m.headers = {{"From", from},
                 {"To", to},
                 {"Subject", mime::header_safe(fmt::format("Report Domain: {} Submitter: {} Report-ID: <{}>", f.domain,
                                                           f.org_name, f.report_id))},
                 {"Date", format_date(now)},
                 {"Message-ID", fmt::format("<dmarc.{}.{}.{}@{}>", p.day, f.domain, now, host_name(cfg))},
                 {"Auto-Submitted", "auto-generated"}};
    m.text = fmt::format("DMARC aggregate report (RFC 9990) for {}, {} (UTC), from {}.\n", f.domain, iso_day(p.day),
                         f.org_name);
    m.attachments.push_back({fmt::format("{}!{}!{}!{}!{}.xml.gz", our_domain, f.domain, f.begin, f.end, p.day / 86400),
                             "application/gzip", gz});
    out.message = mime::build(m);
    return out;
}

} // namespace mail::reports
