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

// The results that leave or join a context, as a walk over it meets
// them: for a SORT context each run of consecutive ones is a pair of its
// position and its set; for a SEARCH context they all make one pair at 0.
class Changes {
  public:
    Changes(const SearchContext& ctx, const ShowUid& show) : zero_(ctx.sort.empty()), show_(show) {}
    void add(size_t position, int64_t uid) {
        if (run_.empty()) at_ = position;
        run_.push_back(uid);
        all_.push_back(uid);
    }
    void end_run() {
        if (!run_.empty()) pairs_.push_back(fmt::format("{} {}", at_, values(run_, show_)));
        run_.clear();
    }
    bool empty() const { return all_.empty(); }
    // "ADDTO (1 5 3 7:8)"
    std::string item(const char* name) {
        end_run();
        std::vector<std::string> pairs = zero_ ? std::vector<std::string>{zero_pair(all_, show_)} : pairs_;
        std::string out = std::string(name) + " (";
        for (size_t i = 0; i < pairs.size(); i++) out += (i ? " " : "") + pairs[i];
        return out + ")";
    }

  private:
    bool zero_;
    const ShowUid& show_;
    std::vector<std::string> pairs_;
    std::vector<int64_t> run_, all_;
    size_t at_ = 0;
};

} // namespace

std::string remove_from(SearchContext& ctx, const std::set<int64_t>& gone, const ShowUid& show) {
    Changes removed(ctx, show);
    std::vector<int64_t> kept;
    for (int64_t uid : ctx.result) {
        if (gone.count(uid)) {
            removed.add(kept.size() + 1, uid); // its position once earlier pairs are applied
            continue;
        }
        removed.end_run();
        kept.push_back(uid);
    }
    if (removed.empty()) return {};
    ctx.result = std::move(kept);
    return removed.item("REMOVEFROM");
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
    Changes joined(ctx, show);
    size_t k = 0;
    for (size_t j = 0; j < now.size(); j++) {
        if (k < ctx.result.size() && ctx.result[k] == now[j]) {
            joined.end_run();
            k++;
            continue;
        }
        joined.add(j + 1, now[j]);
    }
    if (k < ctx.result.size()) { // out of order: start again
        std::set<int64_t> all(ctx.result.begin(), ctx.result.end());
        std::string again = remove_from(ctx, all, show);
        out += (out.empty() ? "" : " ") + again;
        return out + (now.empty() ? "" : " " + result_changes(ctx, now, show));
    }
    ctx.result = now;
    if (joined.empty()) return out;
    return out + (out.empty() ? "" : " ") + joined.item("ADDTO");
}

} // namespace mail::imap
