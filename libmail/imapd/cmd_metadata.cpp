// GETMETADATA and SETMETADATA (METADATA, RFC 5464): annotations of the
// user's mailboxes and of the server ("" as the mailbox name), kept in
// index.sqlite (store/metadata.cpp). Entries are "/private/..." or
// "/shared/..."; every mailbox is the user's own, so both kinds are the
// user's to set, except the server's /shared entries, which are the
// administrator's (/shared/admin says how to reach the postmaster).
#include "session.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "imapd/arguments.hpp"

namespace mail::imap {

namespace {

constexpr size_t max_value = 16 * 1024;  // one value's octets (MAXSIZE), under a command's 64 KiB
constexpr int64_t max_entries = 1000;    // annotations of one user in all (TOOMANY)
constexpr size_t max_entry_name = 1024;

// An entry name (RFC 5464 3.2): "/private" or "/shared", then components;
// no "*" or "%", no empty component, no control or 8-bit octets.
// `whole`: SETMETADATA needs at least one component below the prefix.
bool valid_entry(std::string_view e, bool whole) {
    if (e.size() > max_entry_name || e.empty() || e.front() != '/' || e.back() == '/') return false;
    for (size_t i = 0; i < e.size(); i++) {
        unsigned char c = static_cast<unsigned char>(e[i]);
        if (c < 0x20 || c >= 0x7f || c == '*' || c == '%' || (c == '/' && i + 1 < e.size() && e[i + 1] == '/'))
            return false;
    }
    std::string lower = ascii_lower(e);
    bool top = lower == "/private" || lower == "/shared";
    bool below = lower.starts_with("/private/") || lower.starts_with("/shared/");
    return whole ? below : top || below;
}

// Whether `entry` is `asked` or below it within `depth` (0, 1, -1 for infinity).
bool within(const std::string& entry, const std::string& asked, int depth) {
    std::string e = ascii_lower(entry), a = ascii_lower(asked);
    if (e == a) return true;
    if (depth == 0 || !e.starts_with(a + "/")) return false;
    return depth < 0 || e.find('/', a.size() + 1) == std::string::npos;
}

std::string value_text(const std::string& v) {
    if (v.find('\0') != std::string::npos) return fmt::format("~{{{}}}\r\n", v.size()) + v; // literal8
    return string_value(v, true);
}

} // namespace

std::optional<std::string> Session::metadata_target(const Command& c, const Value& v) {
    if (v.kind != Value::Kind::list && v.text.empty()) return std::string(); // the server
    auto name = mailbox_arg(c, v);
    if (!name) return std::nullopt;
    if (!folder_exists(root_, *name)) {
        no(c, "[NONEXISTENT] no such mailbox");
        return std::nullopt;
    }
    return name;
}

void Session::cmd_getmetadata(const Command& c) {
    // GETMETADATA [(MAXSIZE n DEPTH d)] mailbox entry | (entry ...)
    size_t i = 0;
    std::optional<uint64_t> maxsize;
    int depth = 0;
    if (!c.args.empty() && c.args[0].kind == Value::Kind::list) {
        auto& o = c.args[0].items;
        for (size_t k = 0; k < o.size(); k += 2) {
            if (k + 1 >= o.size()) return bad(c, "GETMETADATA option without a value");
            if (o[k].is("MAXSIZE") && o[k + 1].kind == Value::Kind::atom &&
                o[k + 1].text.find_first_not_of("0123456789") == std::string::npos && !o[k + 1].text.empty() &&
                o[k + 1].text.size() < 19) {
                maxsize = std::stoull(o[k + 1].text);
            } else if (o[k].is("DEPTH") && (o[k + 1].is("0") || o[k + 1].is("1") || o[k + 1].is("INFINITY"))) {
                depth = o[k + 1].is("0") ? 0 : o[k + 1].is("1") ? 1 : -1;
            } else {
                return bad(c, "GETMETADATA options: MAXSIZE number, DEPTH 0, 1 or infinity");
            }
        }
        i = 1;
    }
    if (c.args.size() != i + 2) return bad(c, "GETMETADATA [(options)] mailbox entries");
    std::vector<std::string> asked;
    if (c.args[i + 1].kind == Value::Kind::list) {
        for (auto& v : c.args[i + 1].items) asked.push_back(v.text);
    } else {
        asked.push_back(c.args[i + 1].text);
    }
    if (asked.empty() || asked.size() > 100) return bad(c, "GETMETADATA takes 1 to 100 entries");
    for (auto& e : asked)
        if (!valid_entry(e, false)) return bad(c, "invalid entry name " + e.substr(0, 60));
    auto target = metadata_target(c, c.args[i]);
    if (!target) return;
    const std::string& folder = *target;
    auto stored = index_->metadata(folder);
    if (!stored) return fail(c, stored.error());
    if (folder.empty() && !cfg_.queue.postmaster.empty()) // the server's, the administrator's
        stored->emplace_back("/shared/admin", "mailto:" + cfg_.queue.postmaster);
    std::string items;
    uint64_t longest = 0;
    auto add = [&](const std::string& entry, const std::optional<std::string>& value) {
        if (value && maxsize && value->size() > *maxsize) {
            longest = std::max<uint64_t>(longest, value->size());
            return;
        }
        items += (items.empty() ? "" : " ") + string_value(entry) + " " + (value ? value_text(*value) : "NIL");
    };
    for (auto& a : asked) {
        bool found = false;
        for (auto& [entry, value] : *stored)
            if (within(entry, a, depth)) {
                found = found || iequals(entry, a);
                add(entry, value);
            }
        if (!found && depth == 0) add(a, std::nullopt); // asked for and absent: NIL
    }
    if (!items.empty())
        io_.write(fmt::format("* METADATA {} ({})\r\n", folder.empty() ? "\"\"" : mailbox_value(folder), items));
    if (longest) return ok(c, fmt::format("[METADATA LONGENTRIES {}] GETMETADATA completed", longest));
    ok(c, "GETMETADATA completed");
}

void Session::cmd_setmetadata(const Command& c) {
    // SETMETADATA mailbox (entry value entry value ...), NIL removes
    if (c.args.size() != 2 || c.args[1].kind != Value::Kind::list || c.args[1].items.empty() ||
        c.args[1].items.size() % 2 != 0)
        return bad(c, "SETMETADATA mailbox (entry value ...)");
    auto target = metadata_target(c, c.args[0]);
    if (!target) return;
    const std::string& folder = *target;
    std::vector<std::pair<std::string, std::optional<std::string>>> changes;
    auto& v = c.args[1].items;
    for (size_t k = 0; k < v.size(); k += 2) {
        const std::string& entry = v[k].text;
        if (v[k].kind == Value::Kind::list || !valid_entry(entry, true)) return bad(c, "invalid entry name " + entry.substr(0, 60));
        if (folder.empty() && ascii_lower(entry).starts_with("/shared/"))
            return no(c, "[NOPERM] the server's /shared entries are the administrator's");
        bool remove = v[k + 1].kind == Value::Kind::atom && v[k + 1].nil();
        if (!remove && v[k + 1].kind != Value::Kind::string) return bad(c, "a value is a string, a literal or NIL");
        if (!remove && v[k + 1].text.size() > max_value)
            return no(c, fmt::format("[METADATA MAXSIZE {}] value too large", max_value));
        changes.emplace_back(entry, remove ? std::nullopt : std::optional<std::string>(v[k + 1].text));
    }
    auto done = index_->set_metadata(folder, changes, max_entries);
    if (!done) return fail(c, done.error());
    if (!*done) return no(c, fmt::format("[METADATA TOOMANY] at most {} annotations", max_entries));
    ok(c, "SETMETADATA completed");
}

} // namespace mail::imap
