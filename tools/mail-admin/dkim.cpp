// mail-admin dkim generate|list|show|remove, and the DNS records a domain
// needs (shown by `domain show` and `dkim show`).
#include <unistd.h>

#include "admin.hpp"
#include "base/files.hpp"
#include "message/dkim.hpp"

namespace {

// A TXT value as DNS zone text: strings of at most 255 characters.
std::string txt_strings(const std::string& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); i += 255) out += (i ? " \"" : "\"") + v.substr(i, 255) + "\"";
    return out;
}

void print_records(Admin& a, const std::vector<DnsRecord>& records) {
    for (auto& r : records) {
        std::string value = r.type == "TXT" ? txt_strings(r.value) : r.value;
        fmt::print("{}. IN {} {}\n", r.name, r.type, value);
    }
    (void)a;
}

void records_json(mail::JsonWriter& w, const std::vector<DnsRecord>& records) {
    w.begin_array();
    for (auto& r : records)
        w.begin_object().key("name").value(r.name).key("type").value(r.type).key("value").value(r.value).end_object();
    w.end_array();
}

void generate(Admin& a, const std::string& domain, const std::string& selector, const std::string& alg_name) {
    auto alg = must(a, mail::dkim::parse_algorithm(alg_name));
    auto d = must(a, a.directory().domain(domain));
    if (selector.empty() || selector.size() > 63 ||
        selector.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
            std::string::npos) {
        a.fail(mail::Errc::usage, "invalid selector '" + selector + "' (letters, digits and '-')");
        return;
    }
    auto key = must(a, mail::dkim::generate(alg));
    auto pem = must(a, mail::dkim::private_pem(key));
    auto p = must(a, mail::dkim::public_value(key));
    const auto& cfg = a.config();
    std::string path = cfg.dkim_key_path(d.name, selector);
    must(a, mail::make_dirs(path.substr(0, path.rfind('/')), 0700));
    if (mail::exists(path)) {
        a.fail(mail::Errc::cantcreat, "a key file already exists: " + path);
        return;
    }
    // The key file first (mode 0600), then the row that makes it used.
    must(a, mail::durable_write(path + ".tmp", path, {pem}));
    mail::Status added = a.directory().add_dkim_key(
        mail::DkimKeyInfo{d.name, selector, mail::dkim::algorithm_name(alg), p, 0});
    if (!added) {
        ::unlink(path.c_str());
        must(a, added);
    }
    DnsRecord r{selector + "._domainkey." + d.name, "TXT", mail::dkim::txt_record(alg, p)};
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("domain").value(d.name).key("selector").value(selector);
        w.key("algorithm").value(mail::dkim::algorithm_name(alg)).key("key_file").value(path);
        w.key("record").begin_object().key("name").value(r.name).key("type").value(r.type)
            .key("value").value(r.value).end_object();
        print_json(w.end_object());
        return;
    }
    fmt::print("created {} key {} for {} in {}\npublish this record:\n", mail::dkim::algorithm_name(alg),
               selector, d.name, path);
    print_records(a, {r});
}

void list(Admin& a, const std::string& domain) {
    auto keys = must(a, a.directory().dkim_keys(domain));
    mail::JsonWriter w;
    w.begin_array();
    for (auto& k : keys) {
        if (a.json)
            w.begin_object().key("domain").value(k.domain).key("selector").value(k.selector)
                .key("algorithm").value(k.algorithm).key("created").value(format_time(k.created)).end_object();
        else
            fmt::print("{}\t{}\t{}\t{}\n", k.domain, k.selector, k.algorithm, format_time(k.created));
    }
    if (a.json) print_json(w.end_array());
}

void show(Admin& a, const std::string& domain) {
    auto d = must(a, a.directory().domain(domain));
    auto keys = must(a, a.directory().dkim_keys(d.name));
    if (keys.empty()) {
        a.fail(mail::Errc::nouser, "no DKIM key for " + d.name + " (mail-admin dkim generate " + d.name + ")");
        return;
    }
    std::vector<DnsRecord> records;
    for (auto& k : keys) {
        auto alg = must(a, mail::dkim::parse_algorithm(k.algorithm));
        records.push_back(DnsRecord{k.selector + "._domainkey." + d.name, "TXT",
                                    mail::dkim::txt_record(alg, k.public_key)});
    }
    if (a.json) {
        mail::JsonWriter w;
        records_json(w, records);
        print_json(w);
        return;
    }
    print_records(a, records);
}

void remove(Admin& a, const std::string& domain, const std::string& selector) {
    auto d = must(a, a.directory().domain(domain));
    must(a, a.directory().remove_dkim_key(d.name, selector));
    ::unlink(a.config().dkim_key_path(d.name, selector).c_str());
}

} // namespace

std::vector<DnsRecord> dns_records(Admin& a, const std::string& domain) {
    std::string host = mail::host_name(a.config());
    std::vector<DnsRecord> out{
        {domain, "MX", "10 " + host + "."},
        {domain, "TXT", "v=spf1 mx -all"},
    };
    for (auto& k : must(a, a.directory().dkim_keys(domain))) {
        auto alg = must(a, mail::dkim::parse_algorithm(k.algorithm));
        out.push_back({k.selector + "._domainkey." + domain, "TXT", mail::dkim::txt_record(alg, k.public_key)});
    }
    out.push_back({"_dmarc." + domain, "TXT", "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + domain});
    return out;
}

void print_dns_records(Admin& a, const std::vector<DnsRecord>& records, mail::JsonWriter* w) {
    if (w) records_json(*w, records);
    else print_records(a, records);
}

void add_dkim_commands(CLI::App& app, Admin& a) {
    auto* dk = app.add_subcommand("dkim", "manage DKIM signing keys")->require_subcommand(1);
    auto& args = a.args;
    auto* gen = dk->add_subcommand("generate", "create a key for a domain and print its DNS record");
    gen->add_option("domain", args.name)->required();
    gen->add_option("--selector", args.selector, "the selector (default: mail)");
    gen->add_option("--algorithm", args.algorithm, "rsa-sha256 (2048 bits, default) or ed25519-sha256");
    gen->callback(guard([&a] { generate(a, a.args.name, a.args.selector, a.args.algorithm); }));
    auto* ls = dk->add_subcommand("list", "list the keys (of one domain)");
    ls->add_option("domain", args.name);
    ls->callback(guard([&a] { list(a, a.args.name); }));
    auto* sh = dk->add_subcommand("show", "print the DNS records of a domain's keys");
    sh->add_option("domain", args.name)->required();
    sh->callback(guard([&a] { show(a, a.args.name); }));
    auto* rm = dk->add_subcommand("remove", "remove a key (and its file)");
    rm->add_option("domain", args.name)->required();
    rm->add_option("selector", args.selector)->required();
    rm->callback(guard([&a] { remove(a, a.args.name, a.args.selector); }));
}
