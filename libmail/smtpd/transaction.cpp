// The mail transaction: MAIL, RCPT, then the message by DATA or BDAT,
// delivered to its local recipients or committed to the queue before the
// 250.
#include <algorithm>
#include <ctime>
#include <sys/statvfs.h>

#include "base/log.hpp"
#include "directory/resolve.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "reports/feedback.hpp"
#include "reports/log.hpp"
#include "smtp/data.hpp"
#include "smtpd/policy.hpp"
#include "smtpd/session.hpp"
#include "smtpd/writer.hpp"
#include "verify/dnsbl.hpp"

namespace mail::smtp {

namespace {

bool non_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return true;
    return false;
}

bool valid_notify(std::string_view v) {
    if (iequals(v, "NEVER")) return true;
    while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view w = v.substr(0, comma);
        if (!iequals(w, "SUCCESS") && !iequals(w, "FAILURE") && !iequals(w, "DELAY")) return false;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return true;
}

} // namespace

bool Session::free_space_ok() {
    struct statvfs st;
    if (statvfs(spool_.dir().c_str(), &st) != 0) return false;
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize >= cfg_.smtpd.min_free_space;
}

bool Session::mail_params(const std::vector<Param>& params) {
    for (auto& p : params) {
        if (p.key == "SIZE" && p.has_value) {
            if (std::strtoull(p.value.c_str(), nullptr, 10) > cfg_.delivery.max_message_size) {
                bad(552, "5.3.4", "message size exceeds fixed maximum message size");
                return false;
            }
        } else if (p.key == "BODY" && (iequals(p.value, "7BIT") || iequals(p.value, "8BITMIME"))) {
            env_.body = p.value;
        } else if (p.key == "SMTPUTF8" && !p.has_value) {
            env_.smtputf8 = true;
        } else if (p.key == "RET" && (iequals(p.value, "FULL") || iequals(p.value, "HDRS"))) {
            env_.ret = p.value;
        } else if (p.key == "ENVID" && p.has_value && p.value.size() <= 100 && decode_xtext(p.value)) {
            env_.envid = p.value;
        } else if (p.key == "AUTH" && p.has_value) {
            // RFC 4954 5: accepted; we do not relay an identity from others.
        } else {
            bad(555, "5.5.4", "unsupported MAIL parameter " + p.key);
            return false;
        }
    }
    return true;
}

bool Session::rcpt_params(const std::vector<Param>& params, queue::Recipient& r) {
    for (auto& p : params) {
        if (p.key == "NOTIFY" && p.has_value && valid_notify(p.value)) {
            r.notify = p.value;
        } else if (p.key == "ORCPT" && p.has_value && p.value.size() <= 500 &&
                   p.value.find(';') != std::string::npos && decode_xtext(p.value)) {
            r.orcpt = p.value;
        } else {
            bad(555, "5.5.4", "unsupported RCPT parameter " + p.key);
            return false;
        }
    }
    return true;
}

void Session::cmd_mail(const std::string& arg) {
    if (state_ == State::greeting) return bad(503, "5.5.1", "say EHLO first");
    if (state_ == State::mail) return bad(503, "5.5.1", "nested MAIL command");
    if (opt_.role == Role::submission && !user_)
        return bad(530, "5.7.0", "authentication required");
    auto pa = parse_path_arg(arg, "FROM:");
    if (!pa) return bad(501, "5.5.4", "syntax: MAIL FROM:<address>: " + pa.error().user);
    if (!mail_params(pa->params)) return;
    if (non_ascii(pa->path) && !env_.smtputf8)
        return bad(553, "5.6.7", "non-ASCII address needs SMTPUTF8");
    if (!valid_utf8(pa->path)) return bad(553, "5.6.7", "address is not valid UTF-8");
    std::string sender;
    if (!pa->path.empty()) {
        auto a = parse_path("<" + pa->path + ">");
        if (!a) return bad(553, "5.1.7", "bad sender address: " + a.error().user);
        if (opt_.role == Role::submission && !owns(dir_, cfg_, *user_, *a))
            return bad(553, "5.7.1", "sender address not owned by " + *user_);
        sender = a->str();
    }
    if (!free_space_ok()) return reply(452, "4.3.1", "insufficient system storage");
    if (rate_limited(user_ ? std::vector<RateKey>{{"user-msg " + *user_, cfg_.ratelimit.user_messages}}
                           : client_keys("msg", peer_.ip, cfg_.ratelimit.messages),
                     3600))
        return reply(451, "4.7.1", "too many messages in the last hour, try again later");
    state_ = State::mail;
    env_.sender = sender;
    grey_skip_.reset();
    if (checks() || dnsbl_applies() || greylist_applies()) prefetch();
    reply(250, "2.1.0", "sender OK");
}

void Session::cmd_rcpt(const std::string& arg) {
    if (state_ != State::mail) return bad(503, "5.5.1", "need MAIL first");
    if (writer_) return bad(503, "5.5.1", "RCPT not allowed during BDAT");
    auto pa = parse_path_arg(arg, "TO:");
    if (!pa) return bad(501, "5.5.4", "syntax: RCPT TO:<address>: " + pa.error().user);
    if (static_cast<int>(env_.rcpts.size()) >= cfg_.smtpd.max_recipients)
        return reply(452, "4.5.3", "too many recipients");
    if (non_ascii(pa->path) && !env_.smtputf8)
        return bad(553, "5.6.7", "non-ASCII address needs SMTPUTF8");
    if (!valid_utf8(pa->path)) return bad(553, "5.6.7", "address is not valid UTF-8");
    std::string to = ascii_lower(pa->path);
    if (dnsbl_applies() && dnsbl().refusal && to != "postmaster" && !to.starts_with("postmaster@"))
        return bad(554, "5.7.1", *dnsbl().refusal);
    if (too_many_failed_rcpts()) {
        reply(421, "4.7.0", "too many unknown recipients, closing connection");
        return void(state_ = State::quit);
    }
    Verdict v = check_recipient(dir_, cfg_, opt_.role == Role::submission, pa->path);
    if (v.dsn == "5.1.1") count_failed_rcpt();
    if (!v.ok()) return v.code >= 500 ? bad(v.code, v.dsn, v.text) : reply(v.code, v.dsn, v.text);
    if (greylist_applies())
        if (int64_t wait = greylisted(v.address))
            return reply(451, "4.7.1", fmt::format("greylisted: please try again in {} seconds", wait));
    if (rate_limited(user_ ? std::vector<RateKey>{{"user-rcpt " + *user_, cfg_.ratelimit.user_recipients}}
                           : client_keys("rcpt", peer_.ip, cfg_.ratelimit.recipients),
                     3600))
        return reply(451, "4.7.1", "too many recipients in the last hour, try again later");
    queue::Recipient r{v.address, "", ""};
    if (!rcpt_params(pa->params, r)) return;
    env_.rcpts.push_back(std::move(r));
    reply(250, "2.1.5", "recipient OK");
}

// A message this size or smaller is held in memory, so that it can be
// delivered without a queue file; a larger one goes to the queue as it comes.
constexpr size_t held_message_max = 1 << 20;

void Session::open_message() {
    env_.id = spool_.new_id();
    env_.arrived = time(nullptr);
    env_.client = fmt::format("ip={} helo={} tls={} auth={}", peer_.ip.empty() ? "-" : peer_.ip,
                              helo_, io_.tls() ? io_.tls_version() : "-", user_ ? *user_ : "-");
    // The queue file is made when it is needed, with the recipients then left.
    // Held in memory to be checked whole (DKIM) up to checks.max_verified_size.
    size_t held = opt_.local ? held_message_max : 0;
    if (checks()) held = std::max<size_t>(held, cfg_.checks.max_verified_size);
    writer_ = std::make_unique<MessageWriter>([this] { return spool_.create(env_); }, cfg_.smtpd.max_header_size, held);
}

bool Session::checks() const { return cfg_.checks.inbound && opt_.role == Role::mx && !user_; }

// The resolver of the checks, one per process, made again after 100
// transactions (a new UDP socket: c-ares keeps one, and its source port,
// while the channel lives). `next`: a new transaction (MAIL FROM).
net::Resolver* checks_resolver(const Config& cfg, bool next) {
    static std::optional<net::Resolver> resolver;
    static int used = 0;
    if (resolver && next && ++used > 100) resolver.reset(), used = 0;
    if (!resolver) {
        const std::string& servers = !cfg.checks.dns_servers.empty() ? cfg.checks.dns_servers : cfg.outbound.dns_servers;
        auto r = net::Resolver::open(servers, cfg.checks.dns_timeout * 1000);
        if (!r) {
            log::error("smtpd.checks", r.error());
            return nullptr;
        }
        resolver.emplace(std::move(*r));
    }
    return &*resolver;
}

// At MAIL FROM, the questions the checks will ask first (the SPF record of
// the sender's domain, or of the HELO name, and the DMARC record of that
// domain, usually the author's): answered while the message comes in.
void Session::prefetch() {
    net::Resolver* dns = checks_resolver(cfg_, true);
    if (!dns) return;
    dns->forget_prefetched();
    std::vector<std::pair<std::string, net::RrType>> q;
    std::string domain = env_.sender.empty() ? helo_ : env_.sender.substr(env_.sender.rfind('@') + 1);
    if (!domain.empty() && domain.front() != '[') q = {{domain, net::RrType::txt}, {"_dmarc." + domain, net::RrType::txt}};
    if (dnsbl_applies() && !dnsbl_)
        for (auto* zones : {&cfg_.dnsbl.zones, &cfg_.dnsbl.score_zones})
            for (auto& z : *zones)
                if (std::string name = verify::dnsbl_name(peer_.ip, z.zone); !name.empty()) q.push_back({name, net::RrType::a});
    dns->prefetch(q);
}

// SPF, DKIM and DMARC of the whole message (Received: of ours on top);
// the message without forged results of ours, our field first.
std::string Session::check(std::string m) {
    std::string id = host_name(cfg_);
    m = verify::remove_our_results(m, id);
    net::Resolver* dns = checks_resolver(cfg_, false);
    if (!dns) return m;
    verify::Lookup lookup = [dns](const std::string& name, net::RrType t) { return dns->query(name, t); };
    verify::LookupAll all = [dns](const std::vector<std::pair<std::string, net::RrType>>& q) { return dns->query_all(q); };
    checked_ = verify::check_message(cfg_, lookup, {peer_.ip.empty() ? "127.0.0.1" : peer_.ip, helo_, id, time(nullptr)},
                                     env_.sender, m, all);
    log::info("smtpd.checks", "id={} spf={} dkim={} dmarc={} from_domain={} disposition={}{}", env_.id,
              verify::spf_name(checked_->spf.result),
              checked_->dkim.empty() ? std::string("none") : checked_->dkim[0].result, checked_->dmarc.result,
              checked_->dmarc.from_domain, checked_->disposition, checked_->allowed ? " (allowed sender)" : "");
    record_evaluation(m);
    return checked_->field + "\n" + m;
}

// For the DMARC aggregate reports we send (checks.report_from): counted
// when the author domain asks for them, never about a report itself.
void Session::record_evaluation(std::string_view m) {
    const auto& d = checked_->dmarc;
    if (cfg_.checks.report_from.empty() || !d.record || d.record->rua.empty()) return;
    auto h = parse_header(m);
    if (h && reports::is_aggregate_report(h->get("Subject").value_or(""))) return;
    static std::optional<Db> db; // one per process, opened on first use
    if (!db) {
        auto opened = reports::open_log(cfg_);
        if (!opened) return log::error("smtpd.dmarc_log", opened.error());
        db.emplace(std::move(*opened));
    }
    if (Status s = reports::record(*db, *checked_, peer_.ip.empty() ? "127.0.0.1" : peer_.ip, time(nullptr)); !s)
        log::error("smtpd.dmarc_log", s.error());
}

std::string Session::received_header() const {
    bool hide = user_ && !cfg_.smtpd.received_client_ip;
    std::string from = hide ? "" : fmt::format("from {} ([{}])\n\t", helo_, peer_.ip.empty() ? "local" : peer_.ip);
    std::string proto = std::string(esmtp_ ? "ESMTP" : "SMTP") + (io_.tls() ? "S" : "") + (user_ ? "A" : "");
    std::string h = fmt::format("Received: {}by {} (facteur) with {} id {}", from, host_name(cfg_), proto, env_.id);
    if (io_.tls()) h += fmt::format("\n\t(version={} cipher={})", io_.tls_version(), io_.tls_cipher());
    if (user_) h += "\n\t(authenticated sender)";
    if (env_.rcpts.size() == 1) h += "\n\tfor <" + env_.rcpts[0].address + ">";
    return h + "; " + format_date(env_.arrived) + "\n";
}

void Session::refuse(int code, std::string dsn, std::string text) {
    if (!refused_) refused_ = Refusal{code, std::move(dsn), std::move(text)};
}

namespace {

// A DSN (RFC 3464) or an MDN (RFC 8098): the only messages a user submits
// with the null sender.
bool is_report(const Header& h) {
    auto ct = mime::parse_content_type(h.get("Content-Type").value_or(""));
    std::string kind = ascii_lower(ct.param("report-type"));
    return ct.is("multipart", "report") && (kind == "delivery-status" || kind == "disposition-notification");
}

} // namespace

// Once the header is complete: check it, add what is missing, and start
// writing; from then on the body streams to the file.
void Session::start_body() {
    MessageWriter& w = *writer_;
    auto h = parse_header(w.header(), cfg_.smtpd.max_header_size);
    if (!h) return refuse(552, "5.3.4", "message header too large");
    if (h->count("From") > 1 || h->count("Date") > 1 || h->count("Subject") > 1)
        return refuse(554, "5.6.0", "duplicate From, Date or Subject header");
    std::string prefix = received_header();
    if (dnsbl_ && !dnsbl_->header.empty()) prefix += dnsbl_->header;
    if (opt_.role == Role::submission) {
        auto from = h->get("From");
        if (!from || parse_address_list(*from).empty())
            return refuse(553, "5.7.1", "a submitted message needs a From header");
        // Every identity a receiver may show or check as the sender's.
        for (auto& f : h->fields) {
            std::string_view n = f.name;
            if (!iequals(n, "From") && !iequals(n, "Sender") && !iequals(n, "Resent-From") &&
                !iequals(n, "Resent-Sender"))
                continue;
            for (auto& a : parse_address_list(unfold(f.value)))
                if (!owns(dir_, cfg_, *user_, a))
                    return refuse(553, "5.7.1", fmt::format("{} address {} not owned by {}", n, a.str(), *user_));
        }
        if (env_.sender.empty() && !is_report(*h))
            return refuse(553, "5.7.1", "a null sender is only for delivery and disposition reports");
        if (!h->get("Date")) prefix += "Date: " + format_date(env_.arrived) + "\n";
        if (!h->get("Message-ID"))
            prefix += "Message-ID: <" + env_.id + "@" + host_name(cfg_) + ">\n";
        signature_ = signature_for(dir_, *user_);
        if (!signature_.empty()) w.hold();
    }
    w.start(prefix);
}

void Session::take(std::string_view text) {
    if (refused_) return;
    if (!writer_->add(text) && writer_->header_too_big())
        return refuse(552, "5.3.4", "message header too large");
    if (writer_->header_done() && !writer_->started()) start_body();
}

namespace {

int smtp_code(const RecipientStatus& r) {
    if (r.dsn.starts_with("5.1.")) return 550;
    if (r.dsn.starts_with("5.2.") || r.dsn == "5.3.4") return 552;
    return 554;
}

} // namespace

void Session::log_message(const std::string& rcpts, uint64_t size, std::string_view result) {
    log::info("smtpd.message", "id={} from=<{}> to={} size={} client={} tls={} auth={} result={}", env_.id,
              env_.sender, rcpts, size, peer_.ip, io_.tls() ? io_.tls_version() : "no", user_ ? *user_ : "-", result);
}

// The local recipients delivered now (false: none is local). As soon as
// their copies are safe, the client has its answer, before the indexes
// are updated: 250 when all went in; the refusal when every recipient was
// refused for good (nothing queued, nothing bounced); otherwise the rest
// (a temporary failure to retry, a refusal to bounce, remote addresses)
// is queued first, as when nothing is delivered at once.
bool Session::deliver_now(std::string_view text, const std::string& rcpts, uint64_t size) {
    std::vector<std::string> local;
    for (auto& r : env_.rcpts) {
        auto a = parse_address(r.address);
        auto ours = a ? dir_.has_domain(a->domain) : Result<bool>(false);
        if (ours && *ours) local.push_back(r.address); // else queued: the runner decides
    }
    if (local.empty()) return false;
    opt_.local->deliver(text, env_.sender, local, [&](const std::vector<RecipientStatus>& results) {
        const RecipientStatus* refusal = nullptr;
        bool all_refused = local.size() == env_.rcpts.size();
        int delivered = 0;
        for (auto& res : results) {
            if (res.ok()) {
                auto it = std::find_if(env_.rcpts.begin(), env_.rcpts.end(),
                                       [&](auto& r) { return r.address == res.recipient; });
                if (it != env_.rcpts.end()) env_.rcpts.erase(it), delivered++;
            }
            if (!res.ok() && !res.temporary()) refusal = refusal ? refusal : &res;
            else all_refused = false;
        }
        if (all_refused && refusal) {
            int code = smtp_code(*refusal);
            log_message(rcpts, size, fmt::format("{} {}", code, refusal->text));
            bad(code, refusal->dsn, refusal->text);
        } else if (env_.rcpts.empty()) {
            log_message(rcpts, size, fmt::format("250 delivered={}", delivered));
            reply(250, "2.0.0", "OK delivered as " + env_.id);
        } else {
            queue_message(text, rcpts, size, delivered);
        }
        io_.flush();
    });
    return true;
}

// Into the queue (with the recipients not delivered at once), then 250.
void Session::queue_message(std::string_view text, const std::string& rcpts, uint64_t size, int delivered) {
    Status st = writer_->commit(spool_.mess_path(env_.id), text);
    if (!st) {
        log::error("smtpd.queue", st.error());
        log_message(rcpts, size, "451");
        bool full = st.error().no_space();
        return reply(full ? 452 : 451, full ? "4.3.1" : "4.3.0",
                     "temporary local problem; message not accepted, try again later");
    }
    log_message(rcpts, size, delivered ? fmt::format("250 delivered={} queued={}", delivered, env_.rcpts.size()) : "250");
    reply(250, "2.0.0", "OK queued as " + env_.id);
}

void Session::end_message(uint64_t size) {
    if (!refused_ && !writer_->started()) start_body();
    std::string rcpts;
    for (auto& r : env_.rcpts) rcpts += (rcpts.empty() ? "" : ",") + r.address;
    if (refused_) {
        log_message(rcpts, size, fmt::format("{} {}", refused_->code, refused_->text));
        bad(refused_->code, refused_->dsn, refused_->text);
        return reset_transaction();
    }
    auto text = writer_->take([this](std::string m) {
        if (checks()) return check(std::move(m));
        auto signed_ = add_signature(m, signature_);
        return signed_ ? std::move(*signed_) : m;
    });
    // DMARC reject: refused before any 250, nothing kept (RFC 9989 8.3).
    if (checked_ && checked_->disposition == "reject") {
        std::string why = fmt::format("message refused: the DMARC policy of {} is to reject mail that fails, and "
                                      "neither SPF nor DKIM aligned with it",
                                      checked_->dmarc.from_domain);
        log_message(rcpts, size, "550 " + why);
        bad(550, "5.7.1", why);
        return reset_transaction();
    }
    if (!(text && opt_.local && deliver_now(*text, rcpts, size))) queue_message(text ? *text : "", rcpts, size, 0);
    reset_transaction();
}

void Session::cmd_data(const std::string& arg) {
    if (!arg.empty()) return bad(501, "5.5.4", "DATA takes no argument");
    if (state_ != State::mail) return bad(503, "5.5.1", "need MAIL first");
    if (writer_) return bad(503, "5.5.1", "DATA not allowed after BDAT");
    if (env_.rcpts.empty()) return bad(554, "5.5.1", "no valid recipients");
    if (!io_.buffered().empty()) { // message text sent before our 354
        reply(554, "5.5.0", "improper pipelining: data sent before the 354 reply");
        state_ = State::quit;
        return;
    }
    open_message();
    reply(354, "", "end data with <CR><LF>.<CR><LF>");
    if (!io_.flush()) return void(state_ = State::quit);
    net::set_deadline(static_cast<unsigned>(cfg_.smtpd.data_timeout));
    DataReader reader(cfg_.delivery.max_message_size, static_cast<size_t>(cfg_.smtpd.max_line),
                      cfg_.smtpd.normalize_bare_line_ends);
    std::string out;
    while (!reader.done()) {
        if (io_.buffered().empty() && !io_.fill()) {
            state_ = State::quit; // connection lost: nothing was queued
            return reset_transaction();
        }
        io_.consume(reader.feed(io_.buffered(), out));
        take(out);
        out.clear();
    }
    using P = DataReader::Problem;
    if (reader.problem() == P::too_big)
        refuse(552, "5.3.4", "message size exceeds fixed maximum message size");
    else if (reader.problem() == P::line_too_long)
        refuse(554, "5.6.0", fmt::format("line longer than {} octets", cfg_.smtpd.max_line));
    else if (reader.problem() == P::bare_line_end)
        refuse(554, "5.5.2", "bare CR or LF in message text (lines must end with CRLF)");
    end_message(reader.size());
}

// RFC 3030: "BDAT <size> [LAST]", then exactly <size> octets.
void Session::cmd_bdat(const std::string& arg) {
    Command c = parse_command(arg);
    std::string rest = c.arg;
    bool last = rest == "LAST" || rest == "last";
    // Digits only: strtoull would take "-1" (or " 1", "+1") as a size.
    bool digits = !c.verb.empty() && c.verb.size() <= 18 &&
                  std::all_of(c.verb.begin(), c.verb.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    unsigned long long size = digits ? std::strtoull(c.verb.c_str(), nullptr, 10) : 0;
    if (!digits || (!rest.empty() && !last)) {
        reply(501, "5.5.4", "syntax: BDAT <size> [LAST]"); // we cannot skip the chunk
        state_ = State::quit;
        return;
    }
    bool usable = state_ == State::mail && !env_.rcpts.empty();
    if (usable && !writer_) open_message();
    net::set_deadline(static_cast<unsigned>(cfg_.smtpd.data_timeout));
    std::string out;
    for (uint64_t left = size; left > 0;) {
        if (io_.buffered().empty() && !io_.fill()) {
            state_ = State::quit;
            return reset_transaction();
        }
        std::string_view chunk = io_.buffered().substr(0, left);
        if (usable) crlf_.feed(chunk, out);
        io_.consume(chunk.size());
        left -= chunk.size();
        if (!usable) continue;
        bdat_size_ += out.size();
        if (bdat_size_ > cfg_.delivery.max_message_size)
            refuse(552, "5.3.4", "message size exceeds fixed maximum message size");
        take(out);
        out.clear();
    }
    if (state_ != State::mail) return bad(503, "5.5.1", "need MAIL first");
    if (!usable) return bad(554, "5.5.1", "no valid recipients");
    if (last) {
        crlf_.finish(out);
        take(out);
        // The rules of DATA: lines end with CRLF (unless normalised).
        if (crlf_.bare() && !cfg_.smtpd.normalize_bare_line_ends)
            refuse(554, "5.5.2", "bare CR or LF in message text (lines must end with CRLF)");
        return end_message(bdat_size_);
    }
    if (refused_) {
        bad(refused_->code, refused_->dsn, refused_->text);
        return reset_transaction();
    }
    reply(250, "2.0.0", fmt::format("{} octets received", size));
}

} // namespace mail::smtp
