// Fuzz THREAD's message facts and both algorithms: each input line is a
// message "subject\tmessage-id\treferences"; every message must come out
// exactly once, in balanced parentheses, whatever the references say.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "imapd/search.hpp"
#include "imapd/thread.hpp"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<ThreadMessage> msgs;
    while (!in.empty() && msgs.size() < 200) {
        size_t nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        size_t t1 = line.find('\t'), t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
        std::string_view subject = line.substr(0, t1);
        ThreadMessage m;
        m.number = static_cast<int64_t>(msgs.size()) + 1;
        m.date = static_cast<int64_t>(subject.size() % 7);
        m.reply = is_reply_subject(subject);
        m.subject = base_subject(subject);
        if (t1 != std::string_view::npos) {
            auto ids = message_ids(line.substr(t1 + 1, t2 == std::string_view::npos ? std::string_view::npos : t2 - t1 - 1));
            if (!ids.empty()) m.message_id = ids[0];
        }
        if (t2 != std::string_view::npos) m.parents = message_ids(line.substr(t2 + 1));
        msgs.push_back(std::move(m));
    }
    for (int algorithm = 0; algorithm < 2; algorithm++) {
        std::string out = format_threads(algorithm ? thread_references(msgs) : thread_orderedsubject(msgs));
        if (std::count(out.begin(), out.end(), '(') != std::count(out.begin(), out.end(), ')')) __builtin_trap();
        std::multiset<int64_t> seen;
        for (size_t i = 0; i < out.size();) {
            if (out[i] < '0' || out[i] > '9') { i++; continue; }
            size_t e = out.find_first_not_of("0123456789", i);
            seen.insert(std::stoll(out.substr(i, e - i)));
            i = e == std::string::npos ? out.size() : e;
        }
        if (seen.size() != msgs.size()) __builtin_trap();
        for (auto& m : msgs)
            if (seen.count(m.number) != 1) __builtin_trap();
    }
    return 0;
}
