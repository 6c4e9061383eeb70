#include "remote.hpp"

#include <algorithm>
#include <ctime>

#include "base/clock.hpp"
#include "base/files.hpp"
#include "base/log.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "net/dns.hpp"
#include "queue/runner.hpp"
#include "smtp/client.hpp"

namespace mail::queue {

namespace {

constexpr std::string_view relay_destination = "[relay]";

struct Target {
    std::string host, address;
};

// The remote server's answer as our result: its reply class decides, here
// at the boundary, once.
RecipientStatus status(const std::string& rcpt, const std::string& dsn, const std::string& text) {
    RecipientStatus s = dsn.starts_with("2.") ? delivered(rcpt, text)
                                              : refused(rcpt, dsn.starts_with("5.") ? Errc::unavailable : Errc::tempfail, dsn, text);
    s.dsn = dsn;
    return s;
}

// "host:port", "[v6]:port" or a host alone (then `port`).
std::pair<std::string, int> split_host_port(const std::string& s, int port) {
    if (s.starts_with('[')) {
        size_t end = s.find(']');
        if (end != std::string::npos && s.compare(end + 1, 1, ":") == 0) port = atoi(s.c_str() + end + 2);
        return {s.substr(1, end == std::string::npos ? std::string::npos : end - 1), port};
    }
    size_t colon = s.find(':');
    if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos) return {s, port};
    return {s.substr(0, colon), atoi(s.c_str() + colon + 1)};
}

class Session {
  public:
    Session(const Config& cfg, std::string destination)
        : cfg_(cfg), dest_(std::move(destination)), relay_(dest_ == relay_destination) {}

    // The mail hosts, from DNS (or the relay host). Errors carry a DSN code.
    Status resolve() {
        auto r = net::Resolver::open(cfg_.outbound.dns_servers, cfg_.outbound.dns_timeout * 1000);
        if (!r) return r.error();
        if (relay_) {
            auto [host, port] = split_host_port(cfg_.outbound.relay_host, 587);
            port_ = port;
            auto a = r->addresses(host);
            if (!a) return a.error();
            for (auto& ip : *a) targets_.push_back(Target{host, ip});
            return {};
        }
        port_ = cfg_.outbound.port;
        if (dest_.size() > 2 && dest_.front() == '[') { // a domain literal
            std::string ip = dest_.substr(1, dest_.size() - 2);
            if (ip.starts_with("ipv6:") || ip.starts_with("IPv6:")) ip = ip.substr(5);
            targets_.push_back(Target{ip, ip});
            return {};
        }
        auto hosts = r->mail_hosts(dest_);
        if (!hosts) return hosts.error();
        for (auto& h : *hosts)
            for (auto& ip : h.addresses) targets_.push_back(Target{h.name, ip});
        return {};
    }

    // A connection ready for MAIL, trying the hosts in order. The error
    // text says what the last host did.
    Result<smtp::Client*> connection() {
        if (client_) return &*client_;
        std::string why = "no mail host";
        for (size_t i = 0; i < targets_.size(); i++) {
            for (bool tls : {true, false}) {
                auto c = open(targets_[i], tls, why);
                if (c) {
                    client_.emplace(std::move(*c));
                    return &*client_;
                }
                // Opportunistic TLS: a failed handshake may be retried in clear.
                if (!tls_failed_ || !cfg_.outbound.plaintext_fallback || relay_) break;
            }
        }
        return make_error(Errc::tempfail, why);
    }
    void drop() { client_.reset(); }
    void quit() {
        if (client_) client_->quit();
        client_.reset();
    }
    const std::string& host() const { return host_; }

  private:
    std::optional<smtp::Client> open(const Target& t, bool tls, std::string& why) {
        tls_failed_ = false;
        host_ = t.host + "[" + t.address + "]";
        auto c = smtp::Client::connect(t.address, port_, cfg_.outbound.connect_timeout);
        if (!c) {
            why = c.error().user;
            return std::nullopt;
        }
        const std::string helo = cfg_.outbound.helo_name.empty() ? host_name(cfg_) : cfg_.outbound.helo_name;
        if (relay_ && cfg_.outbound.relay_tls == "implicit") {
            auto ctx = tls_context();
            Status s = ctx ? c->handshake(**ctx, t.host) : Status(ctx.error());
            if (!s) {
                why = host_ + ": " + s.error().user;
                return std::nullopt;
            }
        }
        smtp::Reply r = c->greeting();
        if (r.code == 220) r = c->hello(helo);
        if (r.code != 250) {
            why = host_ + " said: " + r.str();
            return std::nullopt;
        }
        bool need_tls = relay_ && cfg_.outbound.relay_tls == "starttls";
        if (tls && !c->tls() && (c->extensions().starttls || need_tls)) {
            auto ctx = tls_context();
            if (!ctx) {
                why = "TLS: " + ctx.error().user;
                return std::nullopt;
            }
            auto t2 = c->starttls(**ctx, t.host, helo);
            if (!t2 || t2->code != 250) {
                tls_failed_ = true;
                why = host_ + ": " + (t2 ? "STARTTLS: " + t2->str() : t2.error().user);
                return std::nullopt;
            }
        }
        if (need_tls && !c->tls()) {
            why = host_ + ": the relay host offers no STARTTLS";
            return std::nullopt;
        }
        if (relay_ && !cfg_.outbound.relay_user.empty()) {
            auto pw = read_file(cfg_.outbound.relay_password_file, 4096);
            std::string password = pw ? pw->substr(0, pw->find('\n')) : "";
            r = c->auth(cfg_.outbound.relay_user, password);
            if (r.code != 235) {
                why = host_ + " refused our login: " + r.str();
                return std::nullopt;
            }
        }
        return std::move(*c);
    }

    Result<const net::TlsContext*> tls_context() {
        if (!tls_) {
            bool verify = relay_ && cfg_.outbound.relay_verify;
            auto ctx = net::TlsContext::client(verify, cfg_.outbound.relay_ca);
            if (!ctx) return ctx.error();
            tls_.emplace(std::move(*ctx));
        }
        return &*tls_;
    }

    const Config& cfg_;
    std::string dest_;
    bool relay_;
    int port_ = 25;
    std::vector<Target> targets_;
    std::optional<smtp::Client> client_;
    std::optional<net::TlsContext> tls_;
    std::string host_;
    bool tls_failed_ = false;
};

// The message as it goes to this server (converted to 7 bits, in
// `converted`, for one without 8BITMIME), DKIM-signed, and the MAIL and
// RCPT parameters; or the reason it cannot go there (a permanent failure).
std::optional<RecipientStatus> prepare(const Entry& e, const smtp::Extensions& ext,
                                       const std::vector<const Recipient*>& rcpts, Signer& signer,
                                       std::string& converted, std::string& signature, smtp::Outgoing& m) {
    const Envelope& env = e.env;
    // SMTPUTF8 is needed for a UTF-8 address, or for UTF-8 header fields
    // of a message that came with SMTPUTF8; other 8-bit bytes (legacy
    // charsets in a header, 8-bit bodies) need 8BITMIME.
    bool eight = mime::has_8bit(e.message());
    bool utf8 = mime::has_8bit(env.sender) || (env.smtputf8 && eight) ||
                std::any_of(rcpts.begin(), rcpts.end(), [](auto* r) { return mime::has_8bit(r->address); });
    if (utf8 && !ext.smtputf8)
        return status("", "5.6.7", "the receiving server does not support SMTPUTF8, "
                                   "which this message needs");
    m.message = e.message();
    if (eight && !ext.eightbitmime) {
        auto seven = mime::downgrade_to_7bit(e.message());
        if (!seven)
            return status("", "5.6.3", "the receiving server does not accept 8-bit data (no 8BITMIME), "
                                       "and this message has 8-bit header fields that cannot be converted");
        converted = std::move(*seven);
        m.message = converted;
        eight = false;
    }
    // Signed as sent: after any conversion.
    signature = signer.sign(env, m.message, time(nullptr));
    m.prefix = signature;
    if (ext.size) m.mail_params += " SIZE=" + std::to_string(m.message.size() + m.prefix.size());
    if (eight) m.mail_params += " BODY=8BITMIME";
    if (utf8) m.mail_params += " SMTPUTF8";
    if (ext.dsn) {
        if (!env.ret.empty()) m.mail_params += " RET=" + env.ret;
        if (!env.envid.empty()) m.mail_params += " ENVID=" + env.envid;
    }
    for (auto* r : rcpts) {
        m.recipients.push_back(r->address);
        std::string p;
        if (ext.dsn && !r->notify.empty()) p += " NOTIFY=" + r->notify;
        if (ext.dsn && !r->orcpt.empty()) p += " ORCPT=" + r->orcpt;
        m.rcpt_params.push_back(p);
    }
    m.sender = env.sender;
    return std::nullopt;
}

} // namespace

std::string destination_of(const Config& cfg, const std::string& address) {
    if (!cfg.outbound.relay_host.empty()) return std::string(relay_destination);
    auto a = parse_address(address);
    return a ? ascii_lower(a->domain) : ascii_lower(address.substr(address.rfind('@') + 1));
}

const std::vector<dkim::Key>& Signer::keys(const std::string& domain) {
    auto [it, fresh] = keys_.try_emplace(domain);
    if (!fresh) return it->second;
    if (!dir_) {
        auto d = Directory::open(cfg_.directory_path(), Db::Access::read_only);
        if (!d) {
            log::error("queue.dkim", d.error());
            keys_.erase(it);
            static const std::vector<dkim::Key> none;
            return none;
        }
        dir_.emplace(std::move(*d));
    }
    auto infos = dir_->dkim_keys(domain);
    if (!infos) log::error("queue.dkim", infos.error());
    for (auto& k : infos ? *infos : std::vector<DkimKeyInfo>{}) {
        auto alg = dkim::parse_algorithm(k.algorithm);
        auto pem = read_file(cfg_.dkim_key_path(k.domain, k.selector), 64 * 1024);
        auto key = pem && alg ? dkim::load_pem(*pem, *alg) : Result<dkim::Key>(pem ? alg.error() : pem.error());
        if (!key) {
            log::error("queue.dkim", key.error());
            continue;
        }
        key->domain = k.domain;
        key->selector = k.selector;
        it->second.push_back(std::move(*key));
    }
    return it->second;
}

std::string Signer::sign(const Envelope& env, std::string_view message, int64_t now) {
    // Ours: submitted by an authenticated user (or mail-send), or a report
    // or auto-reply we wrote.
    bool ours = env.client.starts_with("bounce-of=") || env.client.starts_with("double-bounce-of=") ||
                env.client.starts_with("autoreply-of=") || env.client.starts_with("dmarc-report-of=") ||
                (env.client.find(" auth=") != std::string::npos &&
                 env.client.find(" auth=-") == std::string::npos);
    if (!ours) return "";
    auto h = parse_header(message);
    auto from = h ? h->get("From") : std::nullopt;
    if (!from) return "";
    auto list = parse_address_list(*from);
    if (list.empty()) return "";
    const std::string& domain = list.front().domain;
    const auto& k = keys(ascii_lower(domain));
    if (k.empty()) return "";
    auto sig = dkim::sign(message, k, now);
    if (!sig) {
        log::error("queue.dkim", sig.error());
        return "";
    }
    return *sig;
}

void deliver_remote(const Config& cfg, const Spool& spool, const std::string& destination,
                    const std::vector<Job>& jobs, Signer& signer) {
    Session session(cfg, destination);
    auto fail = [&](const Job& j, const std::string& dsn, const std::string& text) {
        std::vector<RecipientStatus> res;
        for (auto& r : j.recipients) res.push_back(status(r, dsn, text));
        if (Status s = record(cfg, spool, j.id, res, now()); !s) log::error("queue.record", s.error());
    };
    if (Status s = session.resolve(); !s) {
        log::info("queue.remote", "{}: {}", destination, s.error().user);
        std::string dsn = net::dsn_of(s.error()), text = s.error().user;
        if (text.starts_with(dsn + " ")) text.erase(0, dsn.size() + 1);
        for (auto& j : jobs) fail(j, dsn, text);
        return;
    }
    for (size_t n = 0; n < jobs.size(); n++) {
        const Job& job = jobs[n];
        auto entry = spool.load(job.id);
        if (!entry) {
            if (entry.error().code != Errc::noinput) log::error("queue.read", entry.error());
            continue;
        }
        std::vector<const Recipient*> rcpts;
        for (auto& r : entry->env.rcpts)
            for (auto& s : entry->state)
                if (s.address == r.address && s.status == RcptStatus::pending &&
                    std::find(job.recipients.begin(), job.recipients.end(), r.address) != job.recipients.end() &&
                    std::none_of(rcpts.begin(), rcpts.end(), [&](auto* x) { return x->address == r.address; }))
                    rcpts.push_back(&r);
        if (rcpts.empty()) continue;
        auto conn = session.connection();
        if (!conn) {
            log::info("queue.remote", "{}: {}", destination, conn.error().user);
            for (size_t k = n; k < jobs.size(); k++) fail(jobs[k], "4.4.1", conn.error().user);
            return;
        }
        smtp::Client& c = **conn;
        std::string converted, signature;
        smtp::Outgoing m;
        std::vector<RecipientStatus> res;
        if (auto refused = prepare(*entry, c.extensions(), rcpts, signer, converted, signature, m)) {
            for (auto* r : rcpts) res.push_back(status(r->address, refused->dsn, refused->text));
        } else {
            smtp::Sent sent = c.send(m);
            for (size_t i = 0; i < rcpts.size(); i++) {
                const smtp::Reply& r = sent.replies[i];
                std::string dsn = r.dsn();
                if (r.code == 0 || r.code == 421) dsn = dsn.starts_with("4.") ? dsn : "4.4.2";
                res.push_back(status(rcpts[i]->address, dsn, session.host() + " said: " + r.str()));
            }
            log::info("queue.sent", "id={} relay={} tls={} reply={}", job.id, session.host(),
                      c.tls() ? c.tls_version() : "no", sent.replies.empty() ? "" : sent.replies[0].str());
            if (!sent.connection_usable) session.drop();
        }
        if (Status s = record(cfg, spool, job.id, res, now()); !s) log::error("queue.record", s.error());
    }
    session.quit();
}

} // namespace mail::queue
