// LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB, STATUS and the
// QUOTA commands.
#include "session.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "imapd/arguments.hpp"
#include "message/address.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

namespace {

const std::vector<std::pair<std::string, std::string>> special_use = {
    {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"}, {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"}};


// IMAP LIST pattern matching: '*' anything, '%' anything but '/'. By
// dynamic programming (pattern x name), so that a pattern of many
// wildcards costs no more than its length times the name's.
bool wildmat(std::string_view pat, std::string_view name) {
    std::vector<char> row(name.size() + 1, 0), next(name.size() + 1);
    row[0] = 1; // the empty pattern matches the empty prefix
    for (char p : pat) {
        std::fill(next.begin(), next.end(), 0);
        for (size_t j = 0; j <= name.size(); j++) {
            if (p == '*' || p == '%') {
                // the wildcard takes nothing, or one more character
                next[j] = row[j] || (j > 0 && next[j - 1] && (p == '*' || name[j - 1] != '/'));
            } else if (j > 0) {
                next[j] = row[j - 1] && name[j - 1] == p;
            }
        }
        row.swap(next);
    }
    return row[name.size()];
}

bool list_match(const std::string& pattern, const std::string& name) {
    // INBOX is case-insensitive, at the start of a pattern too
    if (maildir::is_inbox(name) && pattern.size() >= 5 && maildir::is_inbox(pattern.substr(0, 5)))
        return wildmat("INBOX" + pattern.substr(5), name);
    return wildmat(pattern, name);
}

} // namespace

namespace {

struct ListEntry {
    std::string name;
    bool exists = true, children = false;
};

// Every folder, and each missing superior of one (a \Noselect name).
std::vector<ListEntry> list_entries(const std::vector<std::string>& folders) {
    std::map<std::string, ListEntry> all;
    for (auto& f : folders) all[f] = {f, true, false};
    for (auto& f : folders)
        for (size_t slash = 0; (slash = f.find('/', slash)) != std::string::npos; slash++) {
            std::string parent = f.substr(0, slash);
            auto [it, fresh] = all.try_emplace(parent, ListEntry{parent, false, false});
            it->second.children = true;
        }
    std::vector<ListEntry> out;
    for (auto& [_, e] : all) out.push_back(e);
    // INBOX first
    std::stable_partition(out.begin(), out.end(), [](auto& e) { return e.name == "INBOX"; });
    return out;
}

// LIST's options (RFC 5258 LIST-EXTENDED, RFC 6154, RFC 5819 LIST-STATUS).
struct ListOptions {
    bool subscribed = false, special_use = false, recursive = false; // selection
    bool ret_subscribed = false;                                      // RETURN
    std::vector<Value> status;                                        // RETURN (STATUS (...))
    std::vector<std::string> patterns;                                // with the reference
};

std::optional<ListOptions> parse_list(const std::vector<Value>& args, std::string& error) {
    ListOptions o;
    size_t i = 0;
    if (!args.empty() && args[0].kind == Value::Kind::list) {
        for (auto& v : args[0].items) {
            if (v.is("SUBSCRIBED")) o.subscribed = o.ret_subscribed = true;
            else if (v.is("SPECIAL-USE")) o.special_use = true;
            else if (v.is("RECURSIVEMATCH")) o.recursive = true;
            else if (v.is("REMOTE")) {} // no remote mailboxes here
            else return error = "unknown LIST selection option", std::nullopt;
        }
        if (o.recursive && !o.subscribed) return error = "RECURSIVEMATCH needs SUBSCRIBED", std::nullopt;
        i = 1;
    }
    if (args.size() < i + 2 || !is_name(args[i])) return error = "LIST [(options)] reference pattern [RETURN (options)]", std::nullopt;
    std::string ref = args[i].text;
    std::vector<std::string> pats;
    if (args[i + 1].kind == Value::Kind::list) {
        if (args[i + 1].items.empty()) return error = "LIST: empty pattern list", std::nullopt;
        for (auto& p : args[i + 1].items) {
            if (!is_name(p)) return error = "LIST patterns are strings", std::nullopt;
            pats.push_back(p.text);
        }
    } else {
        pats.push_back(args[i + 1].text);
    }
    i += 2;
    if (i < args.size()) {
        if (!args[i].is("RETURN") || i + 2 != args.size() || args[i + 1].kind != Value::Kind::list)
            return error = "LIST ... RETURN (options)", std::nullopt;
        auto& r = args[i + 1].items;
        for (size_t k = 0; k < r.size(); k++) {
            if (r[k].is("SUBSCRIBED")) o.ret_subscribed = true;
            else if (r[k].is("CHILDREN") || r[k].is("SPECIAL-USE")) {} // always given
            else if (r[k].is("STATUS") && k + 1 < r.size() && r[k + 1].kind == Value::Kind::list) o.status = r[++k].items;
            else return error = "unknown LIST return option", std::nullopt;
        }
    }
    if (!ref.empty() && ref.back() != '/') ref += "/";
    for (auto& p : pats) o.patterns.push_back(p.starts_with("/") ? p : ref + p);
    return o;
}

struct ListBox {
    bool exists = false, listed = false, children = false;
    std::string use; // special-use attributes
};

// The names LIST considers: every folder and missing superior, every
// subscribed name with its superiors (for RECURSIVEMATCH), with their
// special uses (the default folders', or those CREATE gave).
std::map<std::string, ListBox> list_boxes(const std::vector<std::string>& folders, const std::set<std::string>& subscribed,
                                          const std::map<std::string, std::string>& uses) {
    std::map<std::string, ListBox> boxes;
    for (auto& e : list_entries(folders)) boxes[e.name] = {e.exists, true, e.children, ""};
    for (auto& n : subscribed)
        for (size_t slash = 0;; slash++) {
            slash = n.find('/', slash);
            boxes[n.substr(0, slash)];
            if (slash == std::string::npos) break;
        }
    for (auto& [folder, flag] : special_use)
        if (boxes.count(folder)) boxes[folder].use = flag;
    for (auto& [folder, flags] : uses)
        if (boxes.count(folder) && boxes[folder].exists) boxes[folder].use = flags;
    return boxes;
}

} // namespace

Result<std::set<std::string>> Session::subscribed_names(const std::vector<std::string>& folders) {
    auto choices = index_->subscriptions();
    if (!choices) return choices.error();
    // A folder never unsubscribed is subscribed (a departure: VIOLATIONS.md);
    // a name subscribed stays so when its folder goes.
    std::set<std::string> names;
    for (auto& f : folders)
        if (auto it = choices->find(f); it == choices->end() || it->second) names.insert(f);
    for (auto& [name, on] : *choices)
        if (on) names.insert(name);
    return names;
}

void Session::cmd_list(const Command& c) {
    std::string error;
    auto o = parse_list(c.args, error);
    if (!o) return bad(c, error);
    if (c.args.size() == 2 && c.args[1].kind != Value::Kind::list && c.args[1].text.empty()) {
        io_.write("* LIST (\\Noselect) \"/\" \"\"\r\n"); // the hierarchy delimiter
        return ok(c, "LIST completed");
    }
    for (auto& item : o->status)
        if (!status_item(item)) return bad(c, "unknown STATUS item " + item.text);
    auto folders = maildir::list_folders(root_);
    if (!folders) return fail(c, folders.error());
    auto subscribed = subscribed_names(*folders);
    if (!subscribed) return fail(c, subscribed.error());
    auto uses = index_->special_uses();
    if (!uses) return fail(c, uses.error());
    std::map<std::string, ListBox> boxes = list_boxes(*folders, *subscribed, *uses);
    auto matches = [&](const std::string& name) {
        return std::any_of(o->patterns.begin(), o->patterns.end(), [&](auto& p) { return list_match(p, shown(name)); });
    };
    auto selected = [&](const std::string& name, const ListBox& b) {
        if (o->subscribed && !subscribed->count(name)) return false;
        if (o->special_use && b.use.empty()) return false;
        return o->subscribed || o->special_use || b.listed;
    };
    std::vector<std::string> order;
    for (auto& [name, _] : boxes) order.push_back(name);
    std::stable_partition(order.begin(), order.end(), [](auto& n) { return n == "INBOX"; });
    for (auto& name : order) {
        ListBox& b = boxes[name];
        if (!matches(name)) continue;
        // RECURSIVEMATCH: a name whose descendant is selected but not matched
        bool child_info = false;
        if (o->recursive)
            for (auto it = boxes.upper_bound(name + "/"); it != boxes.end() && it->first.starts_with(name + "/"); ++it)
                if (selected(it->first, it->second) && !matches(it->first)) child_info = true;
        if (!selected(name, b) && !child_info) continue;
        std::string attrs;
        auto add = [&](std::string_view a) { attrs += (attrs.empty() ? "" : " ") + std::string(a); };
        if (!b.exists) add(b.listed ? "\\Noselect" : "\\NonExistent");
        if (b.listed) add(b.children ? "\\HasChildren" : "\\HasNoChildren");
        if (o->ret_subscribed && subscribed->count(name)) add("\\Subscribed");
        if (!b.use.empty()) add(b.use);
        io_.write(fmt::format("* LIST ({}) \"/\" {}{}\r\n", attrs, mailbox_value(name),
                              child_info ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : ""));
        if (!o->status.empty() && b.exists) {
            auto data = status_data(name, o->status);
            if (!data) return fail(c, data.error());
            io_.write(fmt::format("* STATUS {} ({})\r\n", mailbox_value(name), *data));
        }
    }
    ok(c, "LIST completed");
}

void Session::cmd_lsub(const Command& c) {
    if (c.args.size() != 2 || !is_name(c.args[0]) || !is_name(c.args[1])) return bad(c, "LSUB reference pattern");
    std::string ref = c.args[0].text, pat = c.args[1].text;
    if (!ref.empty() && ref.back() != '/') ref += "/";
    std::string full = ref + pat;
    auto folders = maildir::list_folders(root_);
    if (!folders) return fail(c, folders.error());
    auto names = subscribed_names(*folders);
    if (!names) return fail(c, names.error());
    for (auto& n : *names) {
        if (!list_match(full, shown(n))) continue;
        bool exists = std::find(folders->begin(), folders->end(), n) != folders->end();
        io_.write(fmt::format("* LSUB ({}) \"/\" {}\r\n", exists ? "" : "\\Noselect", mailbox_value(n)));
    }
    ok(c, "LSUB completed");
}

bool Session::status_item(const Value& v) {
    static const char* const known[] = {"MESSAGES", "UNSEEN", "RECENT", "UIDNEXT", "UIDVALIDITY",
                                        "HIGHESTMODSEQ", "SIZE", "DELETED"};
    return v.kind == Value::Kind::atom &&
           std::any_of(std::begin(known), std::end(known), [&](const char* k) { return iequals(v.text, k); });
}

// "MESSAGES 3 UNSEEN 1" for the STATUS items asked (checked by status_item).
Result<std::string> Session::status_data(const std::string& name, const std::vector<Value>& items) {
    // As after a command in the selected mailbox: the files are listed
    // again when the last listing is full_scan_interval old.
    auto scanned = index_->scan(name, false, false, full_scan_interval);
    if (!scanned) return scanned.error();
    auto f = index_->folder(name);
    if (!f) return f.error();
    // SIZE (RFC 8438) must be at least the sum of the RFC822.SIZEs: exact
    // from the IMAP cache, filled here for at most 2 s; for messages still
    // without it, twice the stored size (as if every byte were an LF).
    bool size = std::any_of(items.begin(), items.end(), [](auto& v) { return iequals(v.text, "SIZE"); });
    if (size) MAIL_TRY(fill_cache(*index_, f->id, maildir::folder_path(root_, name), 2000));
    auto n = index_->counts(f->id, size);
    if (!n) return n.error();
    std::string out;
    for (auto& item : items) {
        std::string k = ascii_upper(item.text);
        int64_t v = k == "MESSAGES" ? n->messages : k == "UNSEEN" ? n->unseen : k == "RECENT" ? n->recent
                  : k == "DELETED" ? n->deleted : k == "SIZE" ? n->size : k == "UIDNEXT" ? f->uidnext
                  : k == "UIDVALIDITY" ? f->uidvalidity : f->highestmodseq;
        if (k == "HIGHESTMODSEQ") enable_condstore();
        out += (out.empty() ? "" : " ") + k + " " + std::to_string(v);
    }
    return out;
}

void Session::cmd_status(const Command& c) {
    if (c.args.size() != 2 || c.args[1].kind != Value::Kind::list) return bad(c, "STATUS mailbox (items)");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    for (auto& item : c.args[1].items)
        if (!status_item(item)) return bad(c, "unknown STATUS item " + item.text);
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    auto data = status_data(*name, c.args[1].items);
    if (!data) return fail(c, data.error());
    io_.write(fmt::format("* STATUS {} ({})\r\n", mailbox_value(*name), *data));
    ok(c, "STATUS completed");
}

// ---- QUOTA (RFC 9208): one root, "", the whole mailbox ----------------------

void Session::quota_response() {
    if (!quota_) return; // unlimited: no resource is limited
    auto used = index_->total_size();
    uint64_t kb = used ? (static_cast<uint64_t>(*used) + 1023) / 1024 : 0;
    io_.write(fmt::format("* QUOTA \"\" (STORAGE {} {})\r\n", kb, quota_ / 1024));
}

void Session::cmd_getquotaroot(const Command& c) {
    if (c.args.size() != 1) return bad(c, "GETQUOTAROOT mailbox");
    auto name = mailbox_arg(c, c.args[0]);
    if (!name) return;
    if (!folder_exists(root_, *name)) return no(c, "[NONEXISTENT] no such mailbox");
    io_.write(fmt::format("* QUOTAROOT {}{}\r\n", mailbox_value(*name), quota_ ? " \"\"" : ""));
    quota_response();
    ok(c, "GETQUOTAROOT completed");
}

void Session::cmd_getquota(const Command& c) {
    if (c.args.size() != 1 || !is_name(c.args[0])) return bad(c, "GETQUOTA root");
    if (!c.args[0].text.empty() || !quota_) return no(c, "[NONEXISTENT] no such quota root");
    quota_response();
    ok(c, "GETQUOTA completed");
}

void Session::cmd_setquota(const Command& c) {
    no(c, "[NOPERM] quotas are set by the administrator (mail-admin mailbox quota)");
}

} // namespace mail::imap
