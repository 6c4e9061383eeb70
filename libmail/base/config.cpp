#include "config.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <toml++/toml.h>
#include <unistd.h>

#include "files.hpp"

namespace mail {
namespace {

std::string where(const toml::node& n, std::string_view origin) {
    return std::string(origin) + ":" + std::to_string(n.source().begin.line);
}

Error bad(const toml::node& n, std::string_view origin, std::string_view key, std::string_view why) {
    return make_error(Errc::config, where(n, origin) + ": " + std::string(key) + ": " +
                                        std::string(why));
}

using Setter = std::function<Status(const toml::node&, std::string_view origin)>;

Setter str(std::string& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        auto v = n.value<std::string>();
        if (!n.is_string() || !v) return bad(n, origin, key, "expected a string");
        out = *v;
        return {};
    };
}

// A list of strings.
Setter strings(std::vector<std::string>& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        const toml::array* a = n.as_array();
        if (!a) return bad(n, origin, key, "expected a list of strings");
        out.clear();
        for (auto& e : *a) {
            auto v = e.value<std::string>();
            if (!e.is_string() || !v) return bad(n, origin, key, "expected a list of strings");
            out.push_back(*v);
        }
        return {};
    };
}

// DNS blocklists: a list of "zone[=answers]".
Setter dnsbl_zones(std::vector<DnsblZone>& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        std::vector<std::string> specs;
        MAIL_TRY(strings(specs, key)(n, origin));
        out.clear();
        for (auto& spec : specs) {
            auto z = parse_dnsbl_zone(spec);
            if (!z) return bad(n, origin, key, z.error().user);
            out.push_back(std::move(*z));
        }
        return {};
    };
}

// Three limits, one per network size: [32, 26, 21] style, each 0 or more.
Setter three(int (&out)[3], std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        const toml::array* a = n.as_array();
        if (!a || a->size() != 3) return bad(n, origin, key, "expected a list of three integers (the three network sizes)");
        for (size_t i = 0; i < 3; i++) {
            auto v = (*a)[i].value<int64_t>();
            if (!(*a)[i].is_integer() || !v || *v < 0 || *v > 100000000)
                return bad(n, origin, key, "expected a list of three integers 0..100000000");
            out[i] = static_cast<int>(*v);
        }
        return {};
    };
}

// One of a few words.
Setter one_of(std::string& out, std::string_view key, std::vector<std::string> words) {
    return [&out, key, words](const toml::node& n, std::string_view origin) -> Status {
        auto v = n.value<std::string>();
        if (!n.is_string() || !v || std::find(words.begin(), words.end(), *v) == words.end())
            return bad(n, origin, key, "expected one of: " + fmt::format("{}", fmt::join(words, ", ")));
        out = *v;
        return {};
    };
}

Setter integer(int& out, std::string_view key, int lo, int hi) {
    return [&out, key, lo, hi](const toml::node& n, std::string_view origin) -> Status {
        auto v = n.value<int64_t>();
        if (!n.is_integer() || !v || *v < lo || *v > hi)
            return bad(n, origin, key, fmt::format("expected an integer {}..{}", lo, hi));
        out = static_cast<int>(*v);
        return {};
    };
}

Setter size(uint64_t& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        if (auto i = n.as_integer()) {
            if (i->get() < 0) return bad(n, origin, key, "negative size");
            out = static_cast<uint64_t>(i->get());
            return {};
        }
        if (auto s = n.as_string()) {
            auto r = parse_size(s->get());
            if (!r) return bad(n, origin, key, r.error().user);
            out = *r;
            return {};
        }
        return bad(n, origin, key, "expected a size such as 50M");
    };
}

Setter boolean(bool& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        auto v = n.value<bool>();
        if (!n.is_boolean() || !v) return bad(n, origin, key, "expected true or false");
        out = *v;
        return {};
    };
}

Setter duration(int& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        if (auto i = n.as_integer(); i && i->get() > 0 && i->get() < (1 << 30)) {
            out = static_cast<int>(i->get());
            return {};
        }
        auto s = n.as_string();
        auto r = s ? parse_duration(s->get()) : Result<int>(make_error(Errc::config, ""));
        if (!r) return bad(n, origin, key, "expected a duration such as 30s, 5m, 4h or 5d");
        out = *r;
        return {};
    };
}

// A duration, or 0 / "off" to switch the feature off.
Setter duration_or_off(int& out, std::string_view key) {
    return [&out, key](const toml::node& n, std::string_view origin) -> Status {
        auto s = n.as_string();
        auto i = n.as_integer();
        if ((s && (s->get() == "off" || s->get() == "0")) || (i && i->get() == 0)) {
            out = 0;
            return {};
        }
        return duration(out, key)(n, origin);
    };
}

std::map<std::string, Setter> setters(Config& c) {
    return {
        {"state_dir", str(c.state_dir, "state_dir")},
        {"hostname", str(c.hostname, "hostname")},
        {"delivery.max_message_size", size(c.delivery.max_message_size, "max_message_size")},
        {"delivery.recipient_delimiter", str(c.delivery.recipient_delimiter, "recipient_delimiter")},
        {"delivery.max_alias_depth", integer(c.delivery.max_alias_depth, "max_alias_depth", 1, 100)},
        {"delivery.max_hops", integer(c.delivery.max_hops, "max_hops", 1, 1000)},
        {"delivery.default_quota", size(c.delivery.default_quota, "default_quota")},
        {"tls.cert", str(c.tls.cert, "tls.cert")},
        {"tls.key", str(c.tls.key, "tls.key")},
        {"log.level", str(c.log_level, "log.level")},
        {"smtpd.max_line", integer(c.smtpd.max_line, "smtpd.max_line", 78, 1 << 20)},
        {"smtpd.max_recipients", integer(c.smtpd.max_recipients, "smtpd.max_recipients", 1, 100000)},
        {"smtpd.max_bad_commands", integer(c.smtpd.max_bad_commands, "smtpd.max_bad_commands", 1, 1000)},
        {"smtpd.command_timeout", duration(c.smtpd.command_timeout, "smtpd.command_timeout")},
        {"smtpd.data_timeout", duration(c.smtpd.data_timeout, "smtpd.data_timeout")},
        {"smtpd.max_header_size", size(c.smtpd.max_header_size, "smtpd.max_header_size")},
        {"smtpd.normalize_bare_line_ends", boolean(c.smtpd.normalize_bare_line_ends, "smtpd.normalize_bare_line_ends")},
        {"smtpd.min_free_space", size(c.smtpd.min_free_space, "smtpd.min_free_space")},
        {"smtpd.loopback_is_secure", boolean(c.smtpd.loopback_is_secure, "smtpd.loopback_is_secure")},
        {"smtpd.received_client_ip", boolean(c.smtpd.received_client_ip, "smtpd.received_client_ip")},
        {"smtpd.max_children", integer(c.smtpd.max_children, "smtpd.max_children", 1, 100000)},
        {"smtpd.max_per_ip", integer(c.smtpd.max_per_ip, "smtpd.max_per_ip", 1, 100000)},
        {"smtpd.max_use", integer(c.smtpd.max_use, "smtpd.max_use", 1, 100000)},
        {"smtpd.deliver_local", boolean(c.smtpd.deliver_local, "smtpd.deliver_local")},
        {"smtpd.user", str(c.smtpd.user, "smtpd.user")},
        {"queue.retry_min", duration(c.queue.retry_min, "queue.retry_min")},
        {"queue.retry_max", duration(c.queue.retry_max, "queue.retry_max")},
        {"queue.max_age", duration(c.queue.max_age, "queue.max_age")},
        {"queue.workers", integer(c.queue.workers, "queue.workers", 1, 64)},
        {"queue.delay_warning", duration_or_off(c.queue.delay_warning, "queue.delay_warning")},
        {"queue.postmaster", str(c.queue.postmaster, "queue.postmaster")},
        {"fetch.max_parallel", integer(c.fetch.max_parallel, "fetch.max_parallel", 1, 1000)},
        {"fetch.max_idle", integer(c.fetch.max_idle, "fetch.max_idle", 0, 100000)},
        {"fetch.timeout", duration(c.fetch.timeout, "fetch.timeout")},
        {"fetch.command_timeout", duration(c.fetch.command_timeout, "fetch.command_timeout")},
        {"fetch.retry_max", duration(c.fetch.retry_max, "fetch.retry_max")},
        {"fetch.max_auth_failures", integer(c.fetch.max_auth_failures, "fetch.max_auth_failures", 1, 1000)},
        {"imapd.max_children", integer(c.imapd.max_children, "imapd.max_children", 1, 100000)},
        {"imapd.max_per_ip", integer(c.imapd.max_per_ip, "imapd.max_per_ip", 1, 100000)},
        {"imapd.max_userip", integer(c.imapd.max_userip, "imapd.max_userip", 1, 10000)},
        {"checks.dns_servers", str(c.checks.dns_servers, "checks.dns_servers")},
        {"checks.dns_timeout", duration(c.checks.dns_timeout, "checks.dns_timeout")},
        {"checks.dns_budget", duration(c.checks.dns_budget, "checks.dns_budget")},
        {"checks.inbound", boolean(c.checks.inbound, "checks.inbound")},
        {"checks.dmarc_allow", strings(c.checks.dmarc_allow, "checks.dmarc_allow")},
        {"checks.max_verified_size", size(c.checks.max_verified_size, "checks.max_verified_size")},
        {"checks.dkim_max_signatures", integer(c.checks.dkim_max_signatures, "checks.dkim_max_signatures", 1, 100)},
        {"checks.report_from", str(c.checks.report_from, "checks.report_from")},
        {"dnsbl.zones", dnsbl_zones(c.dnsbl.zones, "dnsbl.zones")},
        {"dnsbl.score_zones", dnsbl_zones(c.dnsbl.score_zones, "dnsbl.score_zones")},
        {"dnsbl.allow", strings(c.dnsbl.allow, "dnsbl.allow")},
        {"greylist.enabled", boolean(c.greylist.enabled, "greylist.enabled")},
        {"greylist.delay", duration(c.greylist.delay, "greylist.delay")},
        {"greylist.retry_window", duration(c.greylist.retry_window, "greylist.retry_window")},
        {"greylist.expire", duration(c.greylist.expire, "greylist.expire")},
        {"greylist.trust_after", integer(c.greylist.trust_after, "greylist.trust_after", 0, 1000)},
        {"greylist.skip_dmarc", boolean(c.greylist.skip_dmarc, "greylist.skip_dmarc")},
        {"greylist.allow", strings(c.greylist.allow, "greylist.allow")},
        {"greylist.max_entries", integer(c.greylist.max_entries, "greylist.max_entries", 100, 100000000)},
        {"ratelimit.enabled", boolean(c.ratelimit.enabled, "ratelimit.enabled")},
        {"ratelimit.connections", three(c.ratelimit.connections, "ratelimit.connections")},
        {"ratelimit.messages", three(c.ratelimit.messages, "ratelimit.messages")},
        {"ratelimit.recipients", three(c.ratelimit.recipients, "ratelimit.recipients")},
        {"ratelimit.failed_rcpts", integer(c.ratelimit.failed_rcpts, "ratelimit.failed_rcpts", 0, 100000000)},
        {"ratelimit.user_messages", integer(c.ratelimit.user_messages, "ratelimit.user_messages", 0, 100000000)},
        {"ratelimit.user_recipients", integer(c.ratelimit.user_recipients, "ratelimit.user_recipients", 0, 100000000)},
        {"checks.report_org", str(c.checks.report_org, "checks.report_org")},
        {"outbound.dns_servers", str(c.outbound.dns_servers, "outbound.dns_servers")},
        {"outbound.dns_timeout", duration(c.outbound.dns_timeout, "outbound.dns_timeout")},
        {"outbound.port", integer(c.outbound.port, "outbound.port", 1, 65535)},
        {"outbound.connect_timeout", duration(c.outbound.connect_timeout, "outbound.connect_timeout")},
        {"outbound.max_connections", integer(c.outbound.max_connections, "outbound.max_connections", 1, 1000)},
        {"outbound.max_per_destination", integer(c.outbound.max_per_destination, "outbound.max_per_destination", 1, 1000)},
        {"outbound.messages_per_connection", integer(c.outbound.messages_per_connection, "outbound.messages_per_connection", 1, 100000)},
        {"outbound.plaintext_fallback", boolean(c.outbound.plaintext_fallback, "outbound.plaintext_fallback")},
        {"outbound.helo_name", str(c.outbound.helo_name, "outbound.helo_name")},
        {"outbound.relay_host", str(c.outbound.relay_host, "outbound.relay_host")},
        {"outbound.relay_tls", one_of(c.outbound.relay_tls, "outbound.relay_tls", {"starttls", "implicit", "none"})},
        {"outbound.relay_ca", str(c.outbound.relay_ca, "outbound.relay_ca")},
        {"outbound.relay_verify", boolean(c.outbound.relay_verify, "outbound.relay_verify")},
        {"outbound.relay_user", str(c.outbound.relay_user, "outbound.relay_user")},
        {"outbound.relay_password_file", str(c.outbound.relay_password_file, "outbound.relay_password_file")},
    };
}

Status walk(const toml::table& t, const std::string& prefix, std::map<std::string, Setter>& set,
            std::string_view origin) {
    for (auto&& [k, node] : t) {
        std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (auto sub = node.as_table()) {
            MAIL_TRY(walk(*sub, key, set, origin));
            continue;
        }
        auto it = set.find(key);
        if (it == set.end()) return bad(node, origin, key, "unknown key");
        MAIL_TRY(it->second(node, origin));
    }
    return {};
}

} // namespace

Result<uint64_t> parse_size(std::string_view text) {
    if (text == "unlimited" || text == "none") return uint64_t{0};
    uint64_t n = 0;
    size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
        if (n > (UINT64_MAX - 9) / 10) return make_error(Errc::data, "size too large");
        n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (i == 0) return make_error(Errc::data, "invalid size '" + std::string(text) + "'");
    std::string_view unit = text.substr(i);
    int shift = 0;
    if (unit == "" || unit == "B") shift = 0;
    else if (unit == "K" || unit == "k" || unit == "KiB") shift = 10;
    else if (unit == "M" || unit == "MiB") shift = 20;
    else if (unit == "G" || unit == "GiB") shift = 30;
    else if (unit == "T" || unit == "TiB") shift = 40;
    else return make_error(Errc::data, "invalid size unit in '" + std::string(text) + "'");
    if (shift && n > (UINT64_MAX >> shift)) return make_error(Errc::data, "size too large");
    return n << shift;
}

Result<int> parse_duration(std::string_view text) {
    int64_t n = 0;
    size_t i = 0;
    for (; i < text.size() && i < 9 && text[i] >= '0' && text[i] <= '9'; i++)
        n = n * 10 + (text[i] - '0');
    std::string_view unit = text.substr(i);
    int64_t mult = unit == "" || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600
                 : unit == "d" ? 86400 : 0;
    if (i == 0 || mult == 0 || n * mult <= 0 || n * mult >= (1 << 30))
        return make_error(Errc::data, "invalid duration '" + std::string(text) + "'");
    return static_cast<int>(n * mult);
}

namespace {

// toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable on some non-ASCII
// characters, in bare keys and in the text it skips after an error (found
// by fuzz_config). So toml++ sees only ASCII: in "..." strings a non-ASCII
// character becomes its \\u or \\U escape (the same string to TOML), in
// comments a '?'; one anywhere else, or in a '...' string (which has no
// escapes), is refused with its line. Where this reading and toml++'s part
// (invalid TOML), toml++ still gets ASCII only and reports its own error.
Result<std::string> ascii_toml(std::string_view t, std::string_view origin) {
    enum class In { text, comment, basic, literal, ml_basic, ml_literal } in = In::text;
    size_t line = 1;
    std::string out;
    out.reserve(t.size());
    auto at = [&](size_t i, std::string_view s) { return t.substr(i, s.size()) == s; };
    auto refuse = [&](std::string_view why) {
        return make_error(Errc::config, fmt::format("{}:{}: {}", origin, line, why));
    };
    for (size_t i = 0; i < t.size(); i++) {
        auto c = static_cast<unsigned char>(t[i]);
        if (c >= 0x80) {
            if (in == In::comment) {
                out += '?';
                continue;
            }
            if (in != In::basic && in != In::ml_basic)
                return refuse(in == In::text ? "a non-ASCII character outside a string or comment"
                                             : "a non-ASCII character in a '...' string (use \"...\")");
            size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
            if (n == 0 || i + n > t.size()) return refuse("not valid UTF-8");
            uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
            for (size_t k = 1; k < n; k++) {
                auto b = static_cast<unsigned char>(t[i + k]);
                if ((b & 0xc0) != 0x80) return refuse("not valid UTF-8");
                cp = (cp << 6) | (b & 0x3f);
            }
            static constexpr uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
            if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return refuse("not valid UTF-8");
            out += cp > 0xffff ? fmt::format("\\U{:08X}", cp) : fmt::format("\\u{:04X}", cp);
            i += n - 1;
            continue;
        }
        out += static_cast<char>(c);
        if (c == '\n') {
            line++;
            if (in == In::comment || in == In::basic || in == In::literal) in = In::text;
            continue;
        }
        switch (in) {
        case In::text:
            if (c == '#') in = In::comment;
            else if (at(i, "\"\"\"")) in = In::ml_basic, out += "\"\"", i += 2;
            else if (at(i, "\'\'\'")) in = In::ml_literal, out += "\'\'", i += 2;
            else if (c == '"') in = In::basic;
            else if (c == '\'') in = In::literal;
            break;
        case In::comment: break;
        case In::basic:
        case In::ml_basic:
            if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n' && static_cast<unsigned char>(t[i + 1]) < 0x80)
                out += t[++i];
            else if (in == In::ml_basic && at(i, "\"\"\"")) in = In::text, out += "\"\"", i += 2;
            else if (in == In::basic && c == '"') in = In::text;
            break;
        case In::literal:
            if (c == '\'') in = In::text;
            break;
        case In::ml_literal:
            if (at(i, "\'\'\'")) in = In::text, out += "\'\'", i += 2;
            break;
        }
    }
    return out;
}

} // namespace

Result<Config> parse_config(std::string_view text, std::string_view origin) {
    Config cfg;
    toml::table t;
    auto ascii = ascii_toml(text, origin);
    if (!ascii) return ascii.error();
    try {
        t = toml::parse(*ascii, origin);
    } catch (const toml::parse_error& e) {
        return make_error(Errc::config, fmt::format("{}:{}: {}", origin, e.source().begin.line,
                                                    e.description()));
    }
    auto set = setters(cfg);
    MAIL_TRY(walk(t, "", set, origin));
    if (cfg.delivery.recipient_delimiter.size() > 1)
        return make_error(Errc::config, std::string(origin) +
                                            ": recipient_delimiter must be one character or empty");
    return cfg;
}

Result<Config> load_config(const std::optional<std::string>& explicit_path) {
    std::string path = default_config_path;
    bool required = false;
    if (explicit_path) {
        path = *explicit_path;
        required = true;
    } else if (const char* env = std::getenv("FACTEUR_CONFIG"); env && *env) {
        path = env;
        required = true;
    }
    Config cfg;
    if (required || exists(path)) {
        auto text = read_file(path, 1 << 20);
        if (!text) {
            return make_error(Errc::config, "cannot read configuration " + path,
                              text.error().detail);
        }
        auto parsed = parse_config(*text, path);
        if (!parsed) return parsed.error();
        cfg = std::move(*parsed);
    }
    if (const char* env = std::getenv("FACTEUR_STATE_DIR"); env && *env) cfg.state_dir = env;
    return cfg;
}

std::string host_name(const Config& cfg) {
    if (!cfg.hostname.empty()) return cfg.hostname;
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
    return buf;
}

namespace {

std::optional<uint32_t> dotted_quad(std::string_view s) {
    in_addr a;
    if (inet_pton(AF_INET, std::string(s).c_str(), &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

} // namespace

Result<DnsblZone> parse_dnsbl_zone(std::string_view spec) {
    DnsblZone z;
    size_t eq = spec.find('=');
    z.zone = std::string(spec.substr(0, eq));
    if (!z.zone.empty() && z.zone.back() == '.') z.zone.pop_back();
    for (auto& ch : z.zone) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool ok = !z.zone.empty() && z.zone.size() <= 200 && z.zone.find('.') != std::string::npos &&
              z.zone.front() != '.' && z.zone.find("..") == std::string::npos;
    for (char c : z.zone) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_');
    if (!ok) return make_error(Errc::config, fmt::format("'{}' is not a zone name", spec));
    if (eq == std::string_view::npos) return z;
    for (std::string_view rest = spec.substr(eq + 1);;) {
        size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        size_t dash = item.find('-');
        auto lo = dotted_quad(item.substr(0, dash));
        auto hi = dash == std::string_view::npos ? lo : dotted_quad(item.substr(dash + 1));
        if (!lo || !hi || *hi < *lo)
            return make_error(Errc::config, fmt::format("'{}': '{}' is not an address or range", spec, item));
        z.listed.emplace_back(*lo, *hi);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return z;
}

} // namespace mail
