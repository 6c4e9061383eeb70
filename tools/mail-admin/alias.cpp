// mail-admin alias add|list|remove, group add|list|show|remove, group member add|remove
#include "admin.hpp"

namespace {

// "@domain" is the catch-all alias of a domain (stored with an empty local part).
mail::Address source_arg(Admin& a, const std::string& text, bool allow_catchall) {
    if (allow_catchall && text.size() > 1 && text.front() == '@') {
        auto d = mail::normalize_domain(text.substr(1));
        if (!d) {
            a.fail(mail::Errc::data, "invalid domain in '" + text + "'");
            throw AdminExit{};
        }
        return mail::Address{"", *d};
    }
    return parse_arg_address(a, text);
}

std::string shown(const mail::Address& addr) {
    return addr.local.empty() ? "@" + addr.domain : addr.str();
}

std::vector<std::string> target_args(Admin& a, const mail::Address& self) {
    std::vector<std::string> out;
    for (auto& t : a.args.values) {
        auto addr = parse_arg_address(a, t);
        if (mail::iequals(addr.str(), self.str())) {
            a.fail(mail::Errc::data, "an alias cannot point to itself: " + t);
            throw AdminExit{};
        }
        out.push_back(addr.str());
    }
    return out;
}

void list(Admin& a, mail::AddressKind kind) {
    auto all = must(a, a.directory().list(kind, a.args.domain));
    const char* key = kind == mail::AddressKind::alias ? "alias" : "group";
    const char* list_key = kind == mail::AddressKind::alias ? "targets" : "members";
    mail::JsonWriter w;
    w.begin_array();
    for (auto& e : all) {
        if (a.json) {
            w.begin_object().key(key).value(shown(e.address)).key(list_key).strings(e.targets);
            w.end_object();
        } else {
            std::string joined;
            for (auto& t : e.targets) joined += (joined.empty() ? "" : ", ") + t;
            fmt::print("{}\t{}\n", shown(e.address), joined);
        }
    }
    if (a.json) print_json(w.end_array());
}

void show_group(Admin& a) {
    auto addr = source_arg(a, a.args.name, false);
    auto e = must(a, a.directory().lookup(addr));
    if (e.kind != mail::AddressKind::group) {
        a.fail(mail::Errc::data, a.args.name + " is " + mail::kind_name(e.kind) + ", not a group");
        return;
    }
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("group").value(e.address.str()).key("members").strings(e.targets);
        w.key("created").value(format_time(e.created));
        print_json(w.end_object());
        return;
    }
    fmt::print("group: {}\n", e.address.str());
    for (auto& m : e.targets) fmt::print("member: {}\n", m);
}

void add_targets(Admin& a, mail::AddressKind kind, bool create, bool allow_catchall) {
    auto addr = source_arg(a, a.args.name, allow_catchall);
    if (kind == mail::AddressKind::alias && a.args.values.empty()) {
        a.fail(mail::Errc::usage, "alias needs at least one destination");
        return;
    }
    must(a, a.directory().add_targets(addr, kind, target_args(a, addr), create));
}

void remove(Admin& a, mail::AddressKind kind) {
    auto addr = source_arg(a, a.args.name, kind == mail::AddressKind::alias);
    if (a.args.values.empty()) {
        must(a, a.directory().remove(addr, kind));
        return;
    }
    std::vector<std::string> targets;
    for (auto& t : a.args.values) targets.push_back(parse_arg_address(a, t).str());
    must(a, a.directory().remove_targets(addr, kind, targets));
}

} // namespace

void add_alias_commands(CLI::App& app, Admin& a) {
    auto* al = app.add_subcommand("alias", "manage aliases")->require_subcommand(1);
    auto& args = a.args;
    auto* add = al->add_subcommand("add", "add an alias (SOURCE may be @domain: catch-all)");
    add->add_option("source", args.name)->required();
    add->add_option("destination", args.values, "local or external addresses")->required();
    add->callback(guard([&a] { add_targets(a, mail::AddressKind::alias, true, true); }));
    auto* ls = al->add_subcommand("list", "list aliases");
    ls->add_option("--domain", args.domain, "only this domain");
    ls->callback(guard([&a] { list(a, mail::AddressKind::alias); }));
    auto* rm = al->add_subcommand("remove", "remove an alias, or some of its destinations");
    rm->add_option("source", args.name)->required();
    rm->add_option("destination", args.values, "only these destinations");
    rm->callback(guard([&a] { remove(a, mail::AddressKind::alias); }));
}

void add_group_commands(CLI::App& app, Admin& a) {
    auto* gr = app.add_subcommand("group", "manage groups")->require_subcommand(1);
    auto& args = a.args;
    auto* add = gr->add_subcommand("add", "add a group");
    add->add_option("group", args.name)->required();
    add->add_option("member", args.values, "initial members");
    add->callback(guard([&a] {
        auto addr = parse_arg_address(a, a.args.name);
        if (a.directory().lookup(addr)) {
            a.fail(mail::Errc::cantcreat, addr.str() + " already exists");
            return;
        }
        add_targets(a, mail::AddressKind::group, true, false);
    }));
    auto* ls = gr->add_subcommand("list", "list groups");
    ls->add_option("--domain", args.domain, "only this domain");
    ls->callback(guard([&a] { list(a, mail::AddressKind::group); }));
    auto* sh = gr->add_subcommand("show", "show a group");
    sh->add_option("group", args.name)->required();
    sh->callback(guard([&a] { show_group(a); }));
    auto* rm = gr->add_subcommand("remove", "remove a group");
    rm->add_option("group", args.name)->required();
    rm->callback(guard([&a] { remove(a, mail::AddressKind::group); }));
    auto* mem = gr->add_subcommand("member", "change a group's members")->require_subcommand(1);
    auto* madd = mem->add_subcommand("add", "add members");
    madd->add_option("group", args.name)->required();
    madd->add_option("member", args.values)->required();
    madd->callback(guard([&a] { add_targets(a, mail::AddressKind::group, false, false); }));
    auto* mrm = mem->add_subcommand("remove", "remove members");
    mrm->add_option("group", args.name)->required();
    mrm->add_option("member", args.values)->required();
    mrm->callback(guard([&a] { remove(a, mail::AddressKind::group); }));
}
