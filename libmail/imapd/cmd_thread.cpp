// THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over the messages a
// search finds. Date, subject, In-Reply-To and Message-ID come from the
// cached ENVELOPE; References from the message's header (the first 64 KB).
#include "session.hpp"

#include <fmt/format.h>

#include "imapd/search.hpp"
#include "imapd/thread.hpp"
#include "message/header.hpp"

namespace mail::imap {

namespace {

constexpr size_t references_read_limit = 64 * 1024;

std::string nstring(const Value& v) { return v.nil() ? "" : v.text; }

// The References field of a message, "" when it has none or is gone.
std::string references_of(const Selected& sel, const Msg& m) {
    auto map = sel.map_file(m);
    if (!map || !*map) return "";
    std::string_view text = (*map)->view();
    auto h = parse_header(text.substr(0, std::min(text.size(), references_read_limit)), references_read_limit);
    if (!h) return "";
    return unfold(h->get("References").value_or(""));
}

} // namespace

Result<std::vector<ThreadMessage>> Session::thread_messages(const std::vector<size_t>& found, bool uid, bool references) {
    std::vector<ThreadMessage> out;
    out.reserve(found.size());
    for (size_t from = 0; from < found.size(); from += 1000) {
        std::vector<const Msg*> ms;
        for (size_t k = from; k < std::min(found.size(), from + 1000); k++) ms.push_back(&sel_->msgs[found[k] - 1]);
        auto rows = cache_rows(*index_, *sel_, ms);
        if (!rows) return rows.error();
        for (size_t k = from; k < from + ms.size(); k++) {
            const Msg& m = *ms[k - from];
            ThreadMessage t;
            t.number = uid ? m.uid : static_cast<int64_t>(found[k]);
            t.date = m.internaldate;
            auto it = rows->find(m.uid);
            size_t pos = 0;
            auto env = it == rows->end() ? Result<std::vector<Value>>(std::vector<Value>{})
                                         : parse_values(it->second.envelope + "\r\n", pos);
            if (env && env->size() == 1 && (*env)[0].items.size() >= 10) {
                auto& e = (*env)[0].items;
                if (int64_t d = e[0].nil() ? -1 : header_date_time(e[0].text); d >= 0) t.date = d;
                std::string subject = nstring(e[1]);
                t.subject = unicode_casemap(base_subject(subject));
                t.reply = is_reply_subject(subject);
                auto ids = message_ids(nstring(e[9]));
                if (!ids.empty()) t.message_id = ids[0];
                if (references) {
                    t.parents = message_ids(references_of(*sel_, m));
                    if (t.parents.empty()) t.parents = message_ids(nstring(e[8])); // In-Reply-To
                }
            }
            out.push_back(std::move(t));
        }
    }
    return out;
}

void Session::cmd_thread(const Command& c) {
    // THREAD algorithm charset search-keys
    if (c.args.size() < 3 || c.args[0].kind != Value::Kind::atom) return bad(c, "THREAD algorithm charset keys");
    std::string algorithm = ascii_upper(c.args[0].text);
    if (algorithm != "ORDEREDSUBJECT" && algorithm != "REFERENCES") return bad(c, "unknown THREAD algorithm " + c.args[0].text);
    auto p = charset_search(c);
    if (!p) return;
    auto found = search(*p);
    if (!found) return fail(c, found.error());
    auto msgs = thread_messages(*found, c.uid, algorithm == "REFERENCES");
    if (!msgs) return fail(c, msgs.error());
    auto threads = algorithm == "REFERENCES" ? thread_references(*msgs) : thread_orderedsubject(std::move(*msgs));
    io_.write("* THREAD" + (threads.empty() ? "" : " " + format_threads(threads)) + "\r\n");
    ok(c, c.uid ? "UID THREAD completed" : "THREAD completed");
}

} // namespace mail::imap
