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

} // namespace

Directory* Runner::directory() {
    if (!dir_) {
        auto d = Directory::open(cfg_.directory_path(), Db::Access::read_only);
        if (!d) {
            log::error("queue.directory", d.error());
            return nullptr;
        }
        dir_.emplace(std::move(*d));
        agent_.emplace(cfg_, *dir_);
    }
    return &*dir_;
}

int64_t Runner::retry_delay(int attempts) const {
    int64_t d = cfg_.queue.retry_min;
    for (int i = 1; i < attempts && d < cfg_.queue.retry_max; i++) d *= 2;
    return std::min<int64_t>(d, cfg_.queue.retry_max);
}

int64_t Runner::process(const std::string& id, int64_t now, bool force) {
    const int64_t later = now + cfg_.queue.retry_min;
    auto entry = spool_.load(id);
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
    const Envelope* env = &entry->env;
    std::vector<RcptState>* st = &entry->state;
    Directory* dir = directory();
    if (!dir) return later;
    std::vector<std::string> local;
    for (auto& r : *st) {
        if (final_state(r) || (!force && r.next > now)) continue;
        auto a = parse_address(r.address);
        auto ours = a ? dir->has_domain(a->domain) : Result<bool>(false);
        if (!ours) {
            agent_.reset();
            dir_.reset(); // reopen next time
            return later;
        }
        if (*ours) local.push_back(r.address);
        else r.text = remote_waiting, r.next = now + cfg_.queue.retry_max;
    }
    std::string_view message = entry->message();
    std::vector<RcptState> failed;
    if (!local.empty()) {
        auto results = agent_->deliver(message, env->sender, local);
        for (auto& res : results) {
            auto it = std::find_if(st->begin(), st->end(),
                                   [&](auto& r) { return r.address == res.recipient && !final_state(r); });
            if (it == st->end()) continue;
            it->attempts++;
            it->dsn = res.dsn;
            it->text = res.text;
            if (res.ok()) it->status = RcptStatus::done;
            else if (!res.temporary() || now - env->arrived >= cfg_.queue.max_age) {
                if (res.temporary()) it->text = "delivery time expired: " + res.text;
                it->status = RcptStatus::failed;
                const Recipient* r = find_rcpt(*env, it->address);
                if (!env->sender.empty() && (!r || wants_failure_report(*r))) failed.push_back(*it);
            } else {
                it->next = now + retry_delay(it->attempts);
            }
            log::info("queue.delivery", "id={} to=<{}> status={} {}", id, it->address, res.dsn,
                      res.text);
        }
    }
    if (!failed.empty()) {
        Envelope b;
        b.id = spool_.new_id();
        b.arrived = now;
        b.rcpts.push_back(Recipient{env->sender, "NEVER", ""});
        b.client = "bounce-of=" + id;
        std::string text = make_bounce(*env, message, failed, host_name(cfg_), now);
        if (Status added = spool_.add(b, text); !added) {
            // Without its bounce the failure must not be recorded as final.
            log::error("queue.bounce", added.error());
            return later;
        }
        log::info("queue.bounce", "id={} bounce={} to=<{}>", id, b.id, env->sender);
    }
    if (std::all_of(st->begin(), st->end(), final_state)) {
        if (Status rm = spool_.remove(id); !rm) log::error("queue.remove", rm.error());
        log::info("queue.done", "id={}", id);
        return 0;
    }
    if (!exists(spool_.mess_path(id))) return 0; // deleted meanwhile
    if (Status saved = spool_.save_state(id, *st); !saved) log::error("queue.state", saved.error());
    int64_t next = INT64_MAX;
    for (auto& r : *st)
        if (!final_state(r)) next = std::min(next, r.next);
    return next;
}

} // namespace mail::queue
