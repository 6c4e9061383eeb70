// mail-admin mailbox add|list|show|remove|passwd|quota
#include "admin.hpp"
#include "auth/password.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace {

mail::Address mailbox_arg(Admin& a, const std::string& text) {
    auto addr = parse_arg_address(a, text);
    if (!mail::maildir::valid_mailbox_dirname(addr.local)) {
        a.fail(mail::Errc::data, "invalid mailbox name '" + addr.local +
                                     "' (letters, digits, '.', '-', '_')");
        throw AdminExit{};
    }
    auto& delim = a.config().delivery.recipient_delimiter;
    if (!delim.empty() && addr.local.find(delim) != std::string::npos) {
        a.fail(mail::Errc::data, "mailbox name '" + addr.local + "' contains the delimiter " +
                                     delim);
        throw AdminExit{};
    }
    addr.local = mail::ascii_lower(addr.local);
    return addr;
}

uint64_t quota_arg(Admin& a, const std::string& text) {
    if (text.empty()) return 0;
    auto q = mail::parse_size(text);
    if (!q) {
        a.fail(mail::Errc::data, "invalid quota '" + text + "'");
        throw AdminExit{};
    }
    return *q;
}

void add(Admin& a) {
    auto addr = mailbox_arg(a, a.args.name);
    std::string hash;
    if (!a.args.no_password)
        hash = must(a, mail::hash_password(read_password(a, a.args.password_stdin)));
    must(a, a.directory().add_mailbox(addr, hash, quota_arg(a, a.args.quota)));
    must(a, mail::maildir::create_mailbox(a.mailbox_root(addr)));
}

struct Usage {
    int64_t used = -1, messages = -1;
};

Usage usage(Admin& a, const mail::Address& addr) {
    Usage u;
    auto idx = mail::MailboxIndex::open(a.mailbox_root(addr));
    if (!idx) return u;
    if (auto t = idx->total_size()) u.used = *t;
    if (auto n = idx->total_messages()) u.messages = *n;
    return u;
}

void json_mailbox(Admin& a, mail::JsonWriter& w, const mail::Entry& e, bool detail) {
    auto u = usage(a, e.address);
    w.begin_object().key("address").value(e.address.str());
    w.key("quota").value(static_cast<int64_t>(e.quota)).key("used").value(u.used);
    w.key("messages").value(u.messages);
    w.key("has_password").value(!e.password_hash.empty());
    w.key("created").value(format_time(e.created));
    if (detail) {
        w.key("path").value(a.mailbox_root(e.address));
        auto folders = mail::maildir::list_folders(a.mailbox_root(e.address));
        if (folders) w.key("folders").strings(*folders);
        else w.key("folders").begin_array().end_array();
    }
    w.end_object();
}

void list(Admin& a) {
    auto all = must(a, a.directory().list(mail::AddressKind::mailbox, a.args.domain));
    mail::JsonWriter w;
    w.begin_array();
    for (auto& e : all) {
        if (a.json) json_mailbox(a, w, e, false);
        else fmt::print("{}\n", e.address.str());
    }
    if (a.json) print_json(w.end_array());
}

mail::Entry find_mailbox(Admin& a, const std::string& text) {
    auto e = must(a, a.directory().lookup(parse_arg_address(a, text)));
    if (e.kind != mail::AddressKind::mailbox) {
        a.fail(mail::Errc::data, text + " is " + mail::kind_name(e.kind) + ", not a mailbox");
        throw AdminExit{};
    }
    return e;
}

void show(Admin& a) {
    auto e = find_mailbox(a, a.args.name);
    if (a.json) {
        mail::JsonWriter w;
        json_mailbox(a, w, e, true);
        print_json(w);
        return;
    }
    auto u = usage(a, e.address);
    fmt::print("address: {}\npath: {}\nquota: {}\nused: {} bytes in {} messages\npassword: {}\n",
               e.address.str(), a.mailbox_root(e.address),
               e.quota ? std::to_string(e.quota) : "unlimited", u.used, u.messages,
               e.password_hash.empty() ? "none (login disabled)" : "set");
}

void remove(Admin& a) {
    auto e = find_mailbox(a, a.args.name);
    must(a, a.directory().remove(e.address, mail::AddressKind::mailbox));
    if (a.args.purge) must(a, remove_tree(a.mailbox_root(e.address)));
}

void passwd(Admin& a) {
    auto e = find_mailbox(a, a.args.name);
    auto hash = must(a, mail::hash_password(read_password(a, a.args.password_stdin)));
    must(a, a.directory().set_password(e.address, hash));
}

void quota(Admin& a) {
    auto e = find_mailbox(a, a.args.name);
    must(a, a.directory().set_quota(e.address, quota_arg(a, a.args.quota)));
}

} // namespace

void add_mailbox_commands(CLI::App& app, Admin& a) {
    auto* mb = app.add_subcommand("mailbox", "manage mailboxes")->require_subcommand(1);
    auto& args = a.args;
    auto* add_cmd = mb->add_subcommand("add", "add a mailbox");
    add_cmd->add_option("address", args.name)->required();
    add_cmd->add_flag("--password-stdin", args.password_stdin, "read the password from stdin");
    add_cmd->add_flag("--no-password", args.no_password, "no password: login disabled");
    add_cmd->add_option("--quota", args.quota, "quota, e.g. 500M or 2G (default: none)");
    add_cmd->callback(guard([&a] { add(a); }));
    auto* ls = mb->add_subcommand("list", "list mailboxes");
    ls->add_option("--domain", args.domain, "only this domain");
    ls->callback(guard([&a] { list(a); }));
    auto* sh = mb->add_subcommand("show", "show a mailbox");
    sh->add_option("address", args.name)->required();
    sh->callback(guard([&a] { show(a); }));
    auto* rm = mb->add_subcommand("remove", "remove a mailbox (its mail is kept)");
    rm->add_option("address", args.name)->required();
    rm->add_flag("--purge", args.purge, "also delete its mail");
    rm->callback(guard([&a] { remove(a); }));
    auto* pw = mb->add_subcommand("passwd", "set a mailbox's password");
    pw->add_option("address", args.name)->required();
    pw->add_flag("--password-stdin", args.password_stdin, "read the password from stdin");
    pw->callback(guard([&a] { passwd(a); }));
    auto* q = mb->add_subcommand("quota", "set a mailbox's quota (0 or unlimited: none)");
    q->add_option("address", args.name)->required();
    q->add_option("size", args.quota)->required();
    q->callback(guard([&a] { quota(a); }));
}
