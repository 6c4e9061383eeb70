#include "fetch/schedule.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "message/address.hpp"

namespace mail::fetch {

namespace {

bool named(const FetchAccount& a, const std::vector<std::string>& addresses, const std::vector<int64_t>& ids) {
    return std::count(ids.begin(), ids.end(), a.id) ||
           std::any_of(addresses.begin(), addresses.end(), [&](auto& x) { return iequals(x, a.address); });
}

bool runs(const std::vector<Running>& running, int64_t account) {
    return std::any_of(running.begin(), running.end(), [&](auto& r) { return r.account == account; });
}

// IDLE needs IMAP and the remote INBOX among the account's folders.
bool can_idle(const FetchAccount& a) {
    return a.protocol == "imap" &&
           (a.all_folders() || std::any_of(a.folders.begin(), a.folders.end(), [](auto& f) { return iequals(f, "INBOX"); }));
}

} // namespace

Result<std::vector<FetchAccount>> pass_accounts(const std::vector<FetchAccount>& all,
                                                const std::vector<std::string>& addresses,
                                                const std::vector<int64_t>& ids, const HealthOf& health,
                                                int64_t now, std::vector<Skip>* skipped) {
    for (auto want : ids)
        if (std::none_of(all.begin(), all.end(), [&](auto& a) { return a.id == want; }))
            return make_error(Errc::nouser, fmt::format("no fetch account {}", want));
    for (auto& want : addresses)
        if (std::none_of(all.begin(), all.end(), [&](auto& a) { return iequals(a.address, want); }))
            return make_error(Errc::nouser, fmt::format("no fetch account for {}", want));
    bool chosen_by_name = !addresses.empty() || !ids.empty();
    std::vector<FetchAccount> out;
    for (auto& a : all) {
        if (!a.enabled || (chosen_by_name && !named(a, addresses, ids))) continue;
        auto h = health(a.id);
        if (!h) return h.error();
        if (!h->disabled.empty()) {
            if (skipped) skipped->push_back({a, "disabled: " + h->disabled, true});
            continue;
        }
        if (!chosen_by_name && h->next_try > now) {
            if (skipped) skipped->push_back({a, fmt::format("waiting after failures until {}", h->next_try), false});
            continue;
        }
        out.push_back(a);
    }
    return out;
}

std::vector<int64_t> Schedule::to_stop(const std::vector<FetchAccount>& accounts, const std::vector<Running>& running) {
    std::vector<int64_t> out;
    for (auto& r : running) {
        auto it = std::find_if(accounts.begin(), accounts.end(), [&](auto& a) { return a.id == r.account; });
        if (it == accounts.end() || !it->enabled || it->updated != r.updated) {
            out.push_back(r.account);
            due_[r.account] = 0;
        }
    }
    return out;
}

std::vector<Start> Schedule::to_start(const std::vector<FetchAccount>& accounts, const std::vector<Running>& running,
                                      const HealthOf& health, int64_t now) {
    size_t syncing = 0, idling = 0;
    for (auto& r : running) (r.idle ? idling : syncing)++;
    std::vector<Start> out;
    for (auto& a : accounts) {
        if (!a.enabled || runs(running, a.id) || due_[a.id] > now) continue;
        auto h = health(a.id);
        if (!h || !h->disabled.empty() || h->next_try > now) continue;
        bool idle = max_idle_ > 0 && can_idle(a) && idling < static_cast<size_t>(max_idle_);
        if (!idle && syncing >= static_cast<size_t>(max_parallel_)) continue;
        (idle ? idling : syncing)++;
        out.push_back({a, idle, idle ? static_cast<int>(a.interval) : 0});
        due_[a.id] = now + a.interval;
    }
    return out;
}

} // namespace mail::fetch
