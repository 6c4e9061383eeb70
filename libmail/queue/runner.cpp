#include "runner.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "deliver/deliver.hpp"
#include "queue/bounce.hpp"

namespace mail::queue {

namespace {

bool final_state(const RcptState& r) { return r.status != RcptStatus::pending; }

const Recipient* find_rcpt(const Envelope& env, const std::string& a) {
    for (auto& r : env.rcpts)
        if (r.address == a) return &r;
    return nullptr;
}

constexpr std::string_view double_bounce_mark = "double-bounce-of=";

// Queue a report (bounce or delay warning) about `which` recipients of
// `env`. A failed message with the null sender is reported to the
// postmaster (a double bounce), unless it is itself such a report.
Status report(const Config& cfg, const Spool& spool, const Entry& e,
              const std::vector<RcptState>& which, bool delayed, int64_t now) {
    const Envelope& env = e.env;
    Envelope b;
    b.id = spool.new_id();
    b.arrived = now;
    if (!env.sender.empty()) {
        b.rcpts.push_back(Recipient{env.sender, "NEVER", ""});
        b.client = "bounce-of=" + env.id;
    } else {
        if (delayed || env.client.starts_with(double_bounce_mark)) return {};
        // Local delivery finds the postmaster (directory/resolve.hpp).
        b.rcpts.push_back(Recipient{"postmaster", "NEVER", ""});
        b.client = std::string(double_bounce_mark) + env.id;
    }
    Envelope to = env; // make_bounce addresses the report to to.sender
    if (env.sender.empty())
        to.sender = cfg.queue.postmaster.empty() ? "postmaster@" + host_name(cfg) : cfg.queue.postmaster;
    std::string text = make_bounce(to, e.message(), which, host_name(cfg), now,
                                   delayed ? Report::delayed : Report::failed);
    MAIL_TRY(spool.add(b, text));
    log::info(delayed ? "queue.delayed" : "queue.bounce", "id={} report={} to=<{}>", env.id, b.id,
              b.rcpts[0].address);
    return {};
}

} // namespace

int64_t retry_delay(const Config& cfg, int attempts) {
    int64_t d = cfg.queue.retry_min;
    for (int i = 1; i < attempts && d < cfg.queue.retry_max; i++) d *= 2;
    return std::min<int64_t>(d, cfg.queue.retry_max);
}

Result<bool> is_local(Directory& dir, const std::string& address) {
    auto a = parse_address(address);
    return a ? dir.has_domain(a->domain) : Result<bool>(true);
}

Status record(const Config& cfg, const Spool& spool, const std::string& id,
              const std::vector<RecipientStatus>& results, int64_t now) {
    auto lock = spool.lock(id);
    if (!lock) return lock.error().code == Errc::noinput ? Status{} : Status(lock.error());
    auto entry = spool.load(id);
    if (!entry) return entry.error().code == Errc::noinput ? Status{} : Status(entry.error());
    const Envelope& env = entry->env;
    std::vector<RcptState>& st = entry->state;
    std::vector<RcptState> failed, delayed;
    for (auto& res : results) {
        auto it = std::find_if(st.begin(), st.end(), [&](auto& r) {
            return r.address == res.recipient && !final_state(r);
        });
        if (it == st.end()) continue;
        it->attempts++;
        it->dsn = res.dsn;
        it->text = res.text;
        const Recipient* r = find_rcpt(env, it->address);
        if (res.ok()) {
            it->status = RcptStatus::done;
        } else if (!res.temporary() || now - env.arrived >= cfg.queue.max_age) {
            if (res.temporary()) it->text = "delivery time expired: " + res.text;
            it->status = RcptStatus::failed;
            if (!r || wants_failure_report(*r)) failed.push_back(*it);
        } else {
            it->next = now + retry_delay(cfg, it->attempts);
            if (cfg.queue.delay_warning > 0 && !it->warned &&
                now - env.arrived >= cfg.queue.delay_warning && (!r || wants_delay_report(*r))) {
                it->warned = true;
                delayed.push_back(*it);
            }
        }
        log::info("queue.delivery", "id={} to=<{}> status={} {}", id, it->address, res.dsn, res.text);
    }
    // Without its report a failure must not be recorded as final.
    if (!failed.empty()) MAIL_TRY(report(cfg, spool, *entry, failed, false, now));
    if (!delayed.empty()) {
        if (Status s = report(cfg, spool, *entry, delayed, true, now); !s)
            log::error("queue.delayed", s.error()); // a warning is not worth a retry
    }
    if (std::all_of(st.begin(), st.end(), final_state)) {
        MAIL_TRY(spool.remove(id));
        log::info("queue.done", "id={}", id);
        return {};
    }
    return spool.save_state(id, st);
}

Directory* Runner::directory() {
    if (!dir_) {
        auto d = Directory::open(cfg_.directory_path(), Db::Access::read_only);
        if (!d) {
            log::error("queue.directory", d.error());
            return nullptr;
        }
        dir_.emplace(std::move(*d));
        agent_.emplace(cfg_, *dir_);
        agent_->keep_after_store(10, 1 << 20);
    }
    return &*dir_;
}

std::vector<RecipientStatus> Runner::deliver(std::string_view message, const std::string& sender,
                                             const std::vector<std::string>& recipients,
                                             const LocalDelivery::Safe& safe) {
    if (!directory()) {
        std::vector<RecipientStatus> out;
        for (auto& r : recipients)
            out.push_back(temporary(r, make_error(Errc::tempfail, "temporary local problem", "no directory")));
        if (safe) safe(out);
        return out;
    }
    return agent_->deliver(message, sender, recipients, safe);
}

int64_t Runner::process(const std::string& id, int64_t now, bool force) {
    const int64_t later = now + cfg_.queue.retry_min;
    auto entry = spool_.load(id, false); // the message only when something is due
    if (!entry) {
        const Error& e = entry.error();
        if (e.code == Errc::noinput) return 0; // delivered or deleted meanwhile
        if (e.code == Errc::data) {
            log::err("queue.bad", "{}: {} (left in place)", id, e.user);
            return now + cfg_.queue.retry_max;
        }
        log::error("queue.read", e);
        return later;
    }
    Directory* dir = directory();
    if (!dir) return later;
    std::vector<std::string> due;
    int64_t next = INT64_MAX;
    for (auto& r : entry->state) {
        if (final_state(r)) continue;
        auto local = is_local(*dir, r.address);
        if (!local) {
            release(); // reopen next time
            return later;
        }
        if (!*local) continue; // remote.hpp's
        if (force || r.next <= now) due.push_back(r.address);
        else next = std::min(next, r.next);
    }
    if (due.empty()) return next;
    entry = spool_.load(id);
    if (!entry) return entry.error().code == Errc::noinput ? 0 : later;
    auto results = agent_->deliver(entry->message(), entry->env.sender, due);
    if (Status s = record(cfg_, spool_, id, results, now); !s) {
        log::error("queue.record", s.error());
        return later;
    }
    for (auto& res : results)
        if (res.temporary()) next = std::min(next, now + retry_delay(cfg_, 1));
    return exists(spool_.mess_path(id)) ? next : 0;
}

} // namespace mail::queue
