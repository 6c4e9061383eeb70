// mail-admin fetch add|list|show|remove|enable|disable|password|test: the
// outside accounts that mail-fetch brings home. Passwords are sealed with
// the installation's secret key and never printed; `list` and `show` add
// what mail-fetch recorded (fetch.sqlite): last success, last error,
// failures in a row, messages fetched, and why it disabled an account.
#include <ctime>
#include <optional>

#include "admin.hpp"
#include "auth/secret.hpp"
#include "base/files.hpp"
#include "fetch/state.hpp"
#include "fetch/sync.hpp"
#include "store/maildir.hpp"

namespace {

struct FetchArgs {
    int64_t id = 0;
    std::string protocol, host, tls = "implicit", ca_file, user, folders, into, interval = "5m";
    int port = 0;
    bool no_verify = false, all_folders = false, keep = false, remove = false, password_stdin = false;
} fa;

mail::SecretBox secret_box(Admin& a) {
    const std::string& path = a.config().secret_key_path();
    if (!mail::exists(path)) must(a, mail::SecretBox::create_key(path));
    return must(a, mail::SecretBox::open(path));
}

// mail-fetch's state; none when it never ran (mail-admin does not create
// it, so that the file belongs to the user mail-fetch runs as).
std::optional<mail::fetch::State> fetch_state(Admin& a) {
    if (!mail::exists(a.config().state_dir + "/fetch.sqlite")) return std::nullopt;
    return must(a, mail::fetch::State::open(a.config().state_dir));
}

// What mail-fetch recorded; nothing yet when it never ran.
mail::fetch::AccountHealth health(Admin& a, int64_t id) {
    auto st = fetch_state(a);
    return st ? must(a, st->health(id)) : mail::fetch::AccountHealth{};
}

std::string remote(const mail::FetchAccount& f) {
    return fmt::format("{}://{}@{}:{}", f.protocol, f.user, f.host, f.port);
}

std::string status_of(const mail::FetchAccount& f, const mail::fetch::AccountHealth& h) {
    if (!f.enabled) return "disabled";
    if (!h.disabled.empty()) return "disabled: " + h.disabled;
    if (h.failures) return fmt::format("failing ({} in a row)", h.failures);
    return h.last_success ? "ok" : "new";
}

// Plain text or no certificate check: said wherever the account is shown.
std::string insecure(const mail::FetchAccount& f) {
    if (f.tls == "none") return "INSECURE: no TLS";
    if (!f.verify) return "INSECURE: certificate not verified";
    return "";
}

void json_account(mail::JsonWriter& w, const mail::FetchAccount& f, const mail::fetch::AccountHealth& h) {
    w.begin_object().key("id").value(f.id).key("address").value(f.address).key("protocol").value(f.protocol);
    w.key("host").value(f.host).key("port").value(int64_t{f.port}).key("tls").value(f.tls);
    w.key("verify").value(f.verify).key("ca_file").value(f.ca_file).key("user").value(f.user);
    w.key("folders").begin_array();
    for (auto& x : f.folders) w.value(x);
    w.end_array().key("into").value(f.into).key("keep").value(f.keep).key("interval").value(f.interval);
    w.key("enabled").value(f.enabled && h.disabled.empty()).key("status").value(status_of(f, h));
    w.key("insecure").value(!insecure(f).empty());
    w.key("last_attempt").value(h.last_attempt ? format_time(h.last_attempt) : "");
    w.key("last_success").value(h.last_success ? format_time(h.last_success) : "");
    w.key("last_error").value(h.last_error).key("failures").value(h.failures);
    w.key("auth_failures").value(h.auth_failures).key("fetched").value(h.fetched).key("bytes").value(h.bytes);
    w.key("disabled_reason").value(h.disabled).end_object();
}

void add(Admin& a, const std::string& address) {
    mail::FetchAccount f;
    auto addr = parse_arg_address(a, address);
    f.address = addr.str();
    f.protocol = fa.protocol;
    if (fa.host.empty() || fa.host.find_first_of(" /\t\r\n@") != std::string::npos) {
        a.fail(mail::Errc::usage, "invalid host '" + fa.host + "'");
        return;
    }
    f.host = fa.host;
    f.tls = fa.tls;
    bool implicit = f.tls == "implicit";
    f.port = fa.port ? fa.port : f.protocol == "imap" ? (implicit ? 993 : 143) : (implicit ? 995 : 110);
    f.verify = !fa.no_verify;
    if (!fa.ca_file.empty() && !mail::exists(fa.ca_file)) {
        a.fail(mail::Errc::noinput, "no such CA file: " + fa.ca_file);
        return;
    }
    f.ca_file = fa.ca_file;
    if (fa.user.empty() || fa.user.find_first_of("\r\n") != std::string::npos) {
        a.fail(mail::Errc::usage, "invalid user name");
        return;
    }
    f.user = fa.user;
    if (f.protocol == "pop3" && (fa.all_folders || !fa.folders.empty())) {
        a.fail(mail::Errc::usage, "POP3 has no folders: --folders and --all-folders are for IMAP");
        return;
    }
    if (fa.all_folders) f.folders = {"*"};
    else if (fa.folders.empty()) f.folders = {"INBOX"};
    else
        for (size_t p = 0; p <= fa.folders.size();) {
            size_t c = fa.folders.find(',', p);
            if (c == std::string::npos) c = fa.folders.size();
            std::string name = fa.folders.substr(p, c - p);
            if (name.empty() || name.find_first_of("\r\n\"") != std::string::npos) {
                a.fail(mail::Errc::usage, "invalid folder list '" + fa.folders + "'");
                return;
            }
            f.folders.push_back(mail::iequals(name, "INBOX") ? "INBOX" : name);
            p = c + 1;
        }
    if (!fa.into.empty() && !mail::maildir::valid_folder_name(fa.into)) {
        a.fail(mail::Errc::usage, "invalid local folder '" + fa.into + "'");
        return;
    }
    f.into = mail::maildir::is_inbox(fa.into) ? "" : fa.into;
    f.keep = !fa.remove;
    auto interval = mail::parse_duration(fa.interval);
    if (!interval || *interval < 10) {
        a.fail(mail::Errc::usage, "invalid interval '" + fa.interval + "' (at least 10s)");
        return;
    }
    f.interval = *interval;
    std::string password = read_password(a, fa.password_stdin);
    auto box = secret_box(a);
    int64_t id = must(a, a.directory().add_fetch_account(f, [&](int64_t new_id) {
        mail::FetchAccount g;
        g.id = new_id;
        return box.seal(password, g.seal_context());
    }));
    if (a.json) {
        mail::JsonWriter w;
        print_json(w.begin_object().key("id").value(id).end_object());
        return;
    }
    fmt::print("fetch account {}: {} -> {}{}\n", id, remote(f), f.address,
               insecure(f).empty() ? "" : " (" + insecure(f) + ")");
}

void list(Admin& a, const std::string& address) {
    std::string who;
    if (!address.empty()) who = parse_arg_address(a, address).str();
    auto all = must(a, a.directory().fetch_accounts(who));
    mail::JsonWriter w;
    w.begin_array();
    for (auto& f : all) {
        auto h = health(a, f.id);
        if (a.json) {
            json_account(w, f, h);
            continue;
        }
        std::string flags = insecure(f);
        fmt::print("{}\t{}\t{}\t{}\tlast ok {}\tfetched {}{}{}\n", f.id, f.address, remote(f), status_of(f, h),
                   h.last_success ? format_time(h.last_success) : "never", h.fetched,
                   h.last_error.empty() ? "" : "\tlast error: " + h.last_error, flags.empty() ? "" : "\t" + flags);
    }
    if (a.json) print_json(w.end_array());
}

void show(Admin& a, int64_t id) {
    auto f = must(a, a.directory().fetch_account(id));
    auto h = health(a, id);
    if (a.json) {
        mail::JsonWriter w;
        json_account(w, f, h);
        print_json(w);
        return;
    }
    std::string folders;
    for (auto& x : f.folders) folders += (folders.empty() ? "" : ",") + (x == "*" ? std::string("(all)") : x);
    fmt::print("account:      {}\nmailbox:      {}\nserver:       {}\ntls:          {}{}{}\n", f.id, f.address,
               remote(f), f.tls, f.verify ? "" : ", certificate not verified",
               f.ca_file.empty() ? "" : ", CA file " + f.ca_file);
    if (f.protocol == "imap") fmt::print("folders:      {}\n", folders);
    fmt::print("into:         {}\non server:    {}\ninterval:     {} s\nstatus:       {}\n",
               f.into.empty() ? "INBOX" : f.into, f.keep ? "kept" : "deleted after delivery", f.interval,
               status_of(f, h));
    fmt::print("last attempt: {}\nlast success: {}\nlast error:   {}\nfailures:     {} in a row ({} logins refused)\n"
               "fetched:      {} messages, {} bytes\n",
               h.last_attempt ? format_time(h.last_attempt) : "never",
               h.last_success ? format_time(h.last_success) : "never", h.last_error.empty() ? "-" : h.last_error,
               h.failures, h.auth_failures, h.fetched, h.bytes);
    if (auto i = insecure(f); !i.empty()) fmt::print("warning:      {}\n", i);
}

void remove(Admin& a, int64_t id) {
    must(a, a.directory().remove_fetch_account(id));
    if (auto st = fetch_state(a)) must(a, st->forget(id));
}

void enable(Admin& a, int64_t id, bool on) {
    must(a, a.directory().update_fetch_account(id, "enabled", on ? "1" : "0"));
    if (auto st = fetch_state(a); st && on) must(a, st->clear_disabled(id));
}

void password(Admin& a, int64_t id) {
    auto f = must(a, a.directory().fetch_account(id));
    std::string pw = read_password(a, fa.password_stdin);
    auto box = secret_box(a);
    must(a, a.directory().update_fetch_account(id, "password", must(a, box.seal(pw, f.seal_context()))));
    // A new password deserves a new chance.
    if (auto st = fetch_state(a)) must(a, st->clear_disabled(id));
}

void test(Admin& a, int64_t id) {
    auto f = must(a, a.directory().fetch_account(id));
    auto box = secret_box(a);
    auto pw = must(a, box.unseal(f.sealed_password, f.seal_context()));
    auto r = mail::fetch::test_account(f, pw, a.config().fetch.timeout);
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("id").value(id).key("ok").value(r.ok());
        w.key("result").value(r ? *r : r.error().user).end_object();
        print_json(w);
    } else if (r) {
        fmt::print("{}: {}\n", remote(f), *r);
    }
    if (!r) {
        if (!a.json) a.fail(r.error());
        else a.rc = mail::exit_status(r.error());
    }
}

} // namespace

void add_fetch_commands(CLI::App& app, Admin& a) {
    auto* fe = app.add_subcommand("fetch", "outside accounts that mail-fetch brings home")->require_subcommand(1);
    auto& args = a.args;
    auto* ad = fe->add_subcommand("add", "add an outside IMAP or POP3 account to a mailbox");
    ad->add_option("address", args.name, "the local mailbox")->required();
    ad->add_option("--protocol", fa.protocol, "imap or pop3")->required()->check(CLI::IsMember({"imap", "pop3"}));
    ad->add_option("--host", fa.host, "the server")->required();
    ad->add_option("--port", fa.port, "default: 993/143 (IMAP), 995/110 (POP3)")->check(CLI::Range(1, 65535));
    ad->add_option("--tls", fa.tls, "implicit (default), starttls, or none (insecure)")
        ->check(CLI::IsMember({"implicit", "starttls", "none"}));
    ad->add_flag("--no-verify", fa.no_verify, "do not check the server's certificate (insecure)");
    ad->add_option("--ca-file", fa.ca_file, "trust these CA certificates instead of the system's");
    ad->add_option("--user", fa.user, "the user name on the server")->required();
    ad->add_flag("--password-stdin", fa.password_stdin, "read the password from standard input");
    auto* fo = ad->add_option("--folders", fa.folders, "IMAP folders to fetch, comma-separated (default INBOX)");
    ad->add_flag("--all-folders", fa.all_folders, "fetch every IMAP folder into matching local folders")->excludes(fo);
    ad->add_option("--into", fa.into, "local folder to deliver into (default INBOX)");
    auto* keep = ad->add_flag("--keep", fa.keep, "leave the messages on the server (default)");
    ad->add_flag("--delete", fa.remove, "delete the messages on the server once delivered here")->excludes(keep);
    ad->add_option("--interval", fa.interval, "how often mail-fetch --daemon looks (default 5m)");
    ad->callback(guard([&a] { add(a, a.args.name); }));

    auto* ls = fe->add_subcommand("list", "list the accounts (of one mailbox) with their state");
    ls->add_option("address", args.name);
    ls->callback(guard([&a] { list(a, a.args.name); }));
    auto id_command = [&](const char* name, const char* help, std::function<void()> f) {
        auto* c = fe->add_subcommand(name, help);
        c->add_option("id", fa.id, "the account's number (fetch list)")->required();
        c->callback(guard(f));
        return c;
    };
    id_command("show", "show an account and its state", [&a] { show(a, fa.id); });
    id_command("remove", "remove an account (mail already fetched stays)", [&a] { remove(a, fa.id); });
    id_command("enable", "enable an account (also one disabled after failures)", [&a] { enable(a, fa.id, true); });
    id_command("disable", "stop fetching from an account", [&a] { enable(a, fa.id, false); });
    id_command("password", "change the stored password", [&a] { password(a, fa.id); })
        ->add_flag("--password-stdin", fa.password_stdin, "read the password from standard input");
    id_command("test", "connect and log in without fetching", [&a] { test(a, fa.id); });
}
