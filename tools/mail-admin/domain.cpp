// mail-admin init, domain add|list|show|remove
#include <unistd.h>

#include "admin.hpp"
#include "auth/certificate.hpp"
#include "auth/secret.hpp"
#include "base/files.hpp"
#include "base/owner.hpp"
#include "store/maildir.hpp"

namespace {

void init(Admin& a) {
    auto& cfg = a.config();
    must(a, mail::make_dirs(cfg.state_dir, 0700));
    must(a, mail::make_dirs(cfg.mail_root(), 0700));
    a.dir = must(a, mail::Directory::open(cfg.directory_path(), mail::Db::Access::create));
    if (cfg.tls.cert.empty() && !mail::exists(cfg.cert_path())) {
        must(a, mail::make_self_signed(mail::host_name(cfg), cfg.cert_path(), cfg.key_path()));
        fmt::print("created a self-signed certificate for {} in {}\n", mail::host_name(cfg),
                   cfg.cert_path());
    }
    // The key that seals the passwords of outside accounts (mail-fetch).
    must(a, mail::SecretBox::create_key(cfg.secret_key_path()));
    // The queue, auth/ and what mail-smtpd under a user of its own reads.
    for (auto& p : mail::store_modes(cfg, true)) a.fail(mail::Errc::cantcreat, p);
    fmt::print("state directory {} ready\n", cfg.state_dir);
}

std::string domain_arg(Admin& a, const std::string& text) {
    auto d = mail::normalize_domain(text);
    if (!d || d->front() == '[') {
        a.fail(mail::Errc::data, "invalid domain '" + text + "'");
        throw AdminExit{};
    }
    return *d;
}

void json_domain(mail::JsonWriter& w, const mail::DomainInfo& d) {
    w.begin_object().key("domain").value(d.name).key("created").value(format_time(d.created));
    w.key("mailboxes").value(d.mailboxes).key("aliases").value(d.aliases);
    w.key("groups").value(d.groups).end_object();
}

void list(Admin& a) {
    auto all = must(a, a.directory().domains());
    mail::JsonWriter w;
    w.begin_array();
    for (auto& d : all) {
        if (a.json) json_domain(w, d);
        else fmt::print("{}\t{} mailboxes, {} aliases, {} groups\n", d.name, d.mailboxes,
                        d.aliases, d.groups);
    }
    if (a.json) print_json(w.end_array());
}

void show(Admin& a, const std::string& name) {
    auto d = must(a, a.directory().domain(domain_arg(a, name)));
    auto entries = must(a, a.directory().list(std::nullopt, d.name));
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("domain").value(d.name).key("created").value(format_time(d.created));
        w.key("addresses").begin_array();
        for (auto& e : entries)
            w.begin_object().key("address").value(e.address.local.empty() ? "@" + d.name
                                                                           : e.address.str())
                .key("kind").value(mail::kind_name(e.kind)).end_object();
        w.end_array().key("dns");
        print_dns_records(a, dns_records(a, d.name), &w);
        print_json(w.end_object());
        return;
    }
    fmt::print("domain: {}\ncreated: {}\n", d.name, format_time(d.created));
    for (auto& e : entries)
        fmt::print("{}\t{}\n", e.address.local.empty() ? "@" + d.name : e.address.str(),
                   mail::kind_name(e.kind));
    fmt::print("\nDNS records to publish (MX, SPF, DKIM, DMARC):\n");
    print_dns_records(a, dns_records(a, d.name), nullptr);
}

void remove(Admin& a, const std::string& name, bool force, bool purge) {
    auto d = must(a, a.directory().domain(domain_arg(a, name)));
    if (d.mailboxes > 0 && !force) {
        a.fail(mail::Errc::data, fmt::format("domain {} still has {} mailboxes (use --force)",
                                             d.name, d.mailboxes));
        return;
    }
    must(a, a.directory().remove_domain(d.name));
    if (purge) must(a, remove_tree(a.config().mail_root() + "/" + d.name));
}

} // namespace

void add_init_commands(CLI::App& app, Admin& a) {
    auto* sub = app.add_subcommand("init", "create the state directory and directory database");
    sub->callback(guard([&a] { init(a); }));
}

void add_domain_commands(CLI::App& app, Admin& a) {
    auto* dom = app.add_subcommand("domain", "manage domains")->require_subcommand(1);
    auto& name = a.args.name;
    auto* add = dom->add_subcommand("add", "add a domain");
    add->add_option("domain", name)->required();
    add->callback(guard([&a] { must(a, a.directory().add_domain(domain_arg(a, a.args.name))); }));
    dom->add_subcommand("list", "list domains")->callback(guard([&a] { list(a); }));
    auto* sh = dom->add_subcommand("show", "show a domain and its addresses");
    sh->add_option("domain", name)->required();
    sh->callback(guard([&a] { show(a, a.args.name); }));
    auto* rm = dom->add_subcommand("remove", "remove a domain and its addresses");
    rm->add_option("domain", name)->required();
    rm->add_flag("--force", a.args.force, "also when it still has mailboxes");
    rm->add_flag("--purge", a.args.purge, "also delete its mail folders");
    rm->callback(guard([&a] { remove(a, a.args.name, a.args.force, a.args.purge); }));
}
