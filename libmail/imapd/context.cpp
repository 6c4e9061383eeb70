#include "context.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <unordered_set>

namespace mail::imap {

namespace {

std::string values(const std::vector<int64_t>& uids, const ShowUid& show) {
    std::vector<int64_t> v;
    for (int64_t u : uids) v.push_back(show(u));
    return uid_set(v); // ranges only where ascending (RFC 5267 3.2)
}

// SEARCH contexts are in mailbox order, so a set is one sorted list.
std::string zero_pair(std::vector<int64_t> uids, const ShowUid& show) {
    std::sort(uids.begin(), uids.end());
    return "0 " + values(uids, show);
}

// "ADDTO (1 5 3 7:8)": pairs of a position and a set.
std::string data_item(const char* name, const std::vector<std::string>& pairs) {
    std::string out = std::string(name) + " (";
    for (size_t i = 0; i < pairs.size(); i++) out += (i ? " " : "") + pairs[i];
    return out + ")";
}

} // namespace

std::string remove_from(SearchContext& ctx, const std::set<int64_t>& gone, const ShowUid& show) {
    std::vector<std::string> pairs;
    std::vector<int64_t> kept, run, all_gone;
    size_t run_at = 0; // position of the run in the client's list once earlier pairs are applied
    auto end_run = [&] {
        if (!run.empty()) pairs.push_back(fmt::format("{} {}", run_at, values(run, show)));
        run.clear();
    };
    for (int64_t uid : ctx.result) {
        if (!gone.count(uid)) {
            end_run();
            kept.push_back(uid);
            continue;
        }
        all_gone.push_back(uid);
        if (run.empty()) run_at = kept.size() + 1;
        run.push_back(uid);
    }
    end_run();
    if (all_gone.empty()) return {};
    ctx.result = std::move(kept);
    return data_item("REMOVEFROM", ctx.sort.empty() ? std::vector<std::string>{zero_pair(all_gone, show)} : pairs);
}

std::string result_changes(SearchContext& ctx, const std::vector<int64_t>& now, const ShowUid& show) {
    std::unordered_set<int64_t> in_now(now.begin(), now.end());
    std::set<int64_t> left;
    for (int64_t uid : ctx.result)
        if (!in_now.count(uid)) left.insert(uid);
    std::string out = remove_from(ctx, left, show);
    // What stayed keeps its order (sort keys do not change, ties go by
    // UID), so it is a subsequence of `now`; the rest joined. Should it
    // not be (a key that could not be read before), the client is told
    // to drop everything and take the new list.
    std::vector<std::string> pairs;
    std::vector<int64_t> run, joined;
    size_t run_at = 0, k = 0;
    auto end_run = [&] {
        if (!run.empty()) pairs.push_back(fmt::format("{} {}", run_at, values(run, show)));
        run.clear();
    };
    for (size_t j = 0; j < now.size(); j++) {
        if (k < ctx.result.size() && ctx.result[k] == now[j]) {
            end_run();
            k++;
            continue;
        }
        if (run.empty()) run_at = j + 1;
        run.push_back(now[j]);
        joined.push_back(now[j]);
    }
    end_run();
    if (k < ctx.result.size()) { // out of order: start again
        std::set<int64_t> all(ctx.result.begin(), ctx.result.end());
        std::string again = remove_from(ctx, all, show);
        out += (out.empty() ? "" : " ") + again;
        return out + (now.empty() ? "" : " " + result_changes(ctx, now, show));
    }
    ctx.result = now;
    if (joined.empty()) return out;
    return out + (out.empty() ? "" : " ") +
           data_item("ADDTO", ctx.sort.empty() ? std::vector<std::string>{zero_pair(joined, show)} : pairs);
}

} // namespace mail::imap
