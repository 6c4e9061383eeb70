#include "autoreply.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <random>

#include "base/log.hpp"
#include "base/sqlite.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "spool/spool.hpp"

namespace mail {

namespace {

bool robot(const std::string& sender) {
    std::string local = ascii_lower(sender.substr(0, sender.rfind('@')));
    static const char* exact[] = {"mailer-daemon", "listserv", "majordomo", "noreply", "no-reply",
                                  "donotreply", "do-not-reply", "bounce", "bounces"};
    for (auto* e : exact)
        if (local == e) return true;
    return local.starts_with("owner-") || local.ends_with("-request") || local.starts_with("bounce+") ||
           local.starts_with("noreply+") || local.ends_with("-bounces");
}

std::vector<std::string> addresses_of(const AutoreplySettings& a) {
    std::vector<std::string> out{ascii_lower(a.address)};
    for (auto& x : a.extra) out.push_back(ascii_lower(x));
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), ascii_lower(s)) != list.end();
}

Result<Db> sent_log(const Config& cfg) {
    auto d = Db::open(cfg.state_dir + "/autoreply.sqlite", Db::Sync::normal, Db::Access::create);
    if (!d) return d.error();
    MAIL_TRY(d->exec("CREATE TABLE IF NOT EXISTS sent(mailbox TEXT NOT NULL, sender TEXT NOT NULL,"
                     " at INTEGER NOT NULL, PRIMARY KEY(mailbox, sender))"));
    return d;
}

} // namespace

std::string autoreply_refusal(const AutoreplySettings& a, std::string_view message,
                              const std::string& sender, int64_t now) {
    if (a.start && now < a.start) return "not started yet";
    if (a.until && now >= a.until) return "ended";
    if (sender.empty()) return "null sender";
    auto mine = addresses_of(a);
    if (contains(mine, sender)) return "sent by the user";
    if (robot(sender)) return "sender looks automated";
    auto h = parse_header(message);
    if (!h) return "unreadable header";
    if (auto as = h->get("Auto-Submitted"); as && ascii_lower(unfold(*as)) != "no")
        return "Auto-Submitted: " + single_line(unfold(*as));
    if (auto p = h->get("Precedence")) {
        std::string v = ascii_lower(unfold(*p));
        if (v == "bulk" || v == "junk" || v == "list") return "Precedence: " + v;
    }
    for (auto& f : h->fields)
        if (ascii_lower(f.name).starts_with("list-")) return "mailing list (" + std::string(f.name) + ")";
    if (auto x = h->get("X-Auto-Response-Suppress")) {
        std::string v = ascii_lower(unfold(*x));
        if (v.find("all") != std::string::npos || v.find("oof") != std::string::npos)
            return "X-Auto-Response-Suppress: " + single_line(unfold(*x));
    }
    bool addressed = false;
    for (const char* field : {"To", "Cc"})
        for (auto& f : h->fields)
            if (iequals(f.name, field))
                for (auto& addr : parse_address_list(f.value)) addressed |= contains(mine, addr.str());
    if (!addressed) return "not addressed to the user in To or Cc";
    return "";
}

std::string autoreply_message(const AutoreplySettings& a, std::string_view message,
                              const std::string& sender, int64_t now) {
    auto h = parse_header(message);
    // The original subject is copied as it is (encoded words stay valid),
    // unless it is raw UTF-8, which is encoded.
    std::string orig = mime::header_safe(unfold(h ? h->get("Subject").value_or("") : ""));
    std::string subject = !a.subject.empty() ? mime::encode_text(a.subject)
                          : mime::has_8bit(orig) ? mime::encode_text("Auto: " + orig)
                                             : "Auto: " + orig;
    std::string msgid = h ? mime::header_safe(unfold(h->get("Message-ID").value_or(""))) : "";
    std::string refs = h ? mime::header_safe(unfold(h->get("References").value_or(""))) : "";
    static std::mt19937_64 rng{std::random_device{}()};
    std::string domain = a.address.substr(a.address.rfind('@') + 1);
    mime::Message m;
    m.headers = {{"From", a.address},
                 {"To", sender},
                 {"Subject", subject},
                 {"Date", format_date(now)},
                 {"Message-ID", fmt::format("<{}.{:x}.autoreply@{}>", now, rng(), domain)},
                 {"Auto-Submitted", "auto-replied"},
                 {"X-Auto-Response-Suppress", "All"},
                 {"Precedence", "bulk"}};
    if (!msgid.empty()) {
        m.headers.push_back({"In-Reply-To", msgid});
        m.headers.push_back({"References", refs.empty() ? msgid : refs + " " + msgid});
    }
    m.text = a.body;
    m.html = a.html;
    return mime::build(m);
}

AutoreplyOutcome autoreply(const Config& cfg, const AutoreplySettings& a, std::string_view message,
                           const std::string& sender, int64_t now) {
    AutoreplyOutcome out;
    out.reason = autoreply_refusal(a, message, sender, now);
    if (!out.reason.empty()) return out;
    auto db = sent_log(cfg);
    if (!db) {
        out.reason = "sent-log unavailable: " + db.error().user;
        log::error("autoreply.log", db.error());
        return out;
    }
    std::string who = ascii_lower(sender);
    auto st = db->prepare("SELECT at FROM sent WHERE mailbox=? AND sender=?");
    if (!st) return out.reason = st.error().user, out;
    st->bind(1, a.address).bind(2, who);
    auto row = st->step();
    if (row && *row && st->int64(0) > now - a.interval) {
        out.reason = "already replied to " + sender + " within the interval";
        return out;
    }
    auto spool = queue::Spool::open(queue::spool_dir(cfg));
    if (!spool) return out.reason = spool.error().user, out;
    queue::Envelope env;
    env.arrived = now;
    env.rcpts.push_back(queue::Recipient{sender, "NEVER", ""});
    env.client = "autoreply-of=" + a.address;
    std::string reply = autoreply_message(a, message, sender, now);
    if (Status s = spool->add(env, reply); !s) {
        out.reason = "could not queue the reply: " + s.error().user;
        log::error("autoreply.queue", s.error());
        return out;
    }
    // Recorded after queueing: a crash in between may mean a second reply,
    // never none.
    auto up = db->prepare("INSERT OR REPLACE INTO sent(mailbox, sender, at) VALUES(?,?,?)");
    if (up) up->bind(1, a.address).bind(2, who).bind(3, now);
    if (Status s = up ? up->run() : Status(up.error()); !s) log::error("autoreply.log", s.error());
    out.sent = true;
    out.reason = "sent";
    out.queue_id = env.id;
    log::info("autoreply.sent", "{} -> <{}> queued as {}", a.address, sender, env.id);
    return out;
}

} // namespace mail
