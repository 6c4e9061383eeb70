// mail-admin signature set|show|remove, domain disclaimer set|show|remove,
// autoreply set|show|off: the texts the system adds or writes for people.
#include <ctime>

#include "admin.hpp"
#include "base/files.hpp"

namespace {

constexpr size_t max_text = 1 << 20;

std::string read_text(Admin& a, const std::string& path) {
    if (path.empty()) return "";
    auto t = mail::read_file(path, max_text);
    if (!t) {
        a.fail(t.error().code == mail::Errc::noinput ? mail::Errc::noinput : t.error().code,
               "cannot read " + path + ": " + (t.error().detail.empty() ? t.error().user : t.error().detail));
        throw AdminExit{};
    }
    for (char c : *t)
        if (c == '\0') {
            a.fail(mail::Errc::data, path + " contains a NUL byte");
            throw AdminExit{};
        }
    return *t;
}

// "2026-12-24", "2026-12-24T18:00" or "2026-12-24T18:00:00" (UTC).
int64_t date_arg(Admin& a, const std::string& text) {
    if (text.empty()) return 0;
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (end && *end == 'T') {
        const char* e2 = strptime(end + 1, "%H:%M:%S", &tm);
        end = e2 ? e2 : strptime(end + 1, "%H:%M", &tm);
    }
    if (end && *end == 'Z') end++;
    if (!end || *end) {
        a.fail(mail::Errc::usage, "invalid date '" + text + "' (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)");
        throw AdminExit{};
    }
    return timegm(&tm);
}

mail::Address mailbox_of(Admin& a, const std::string& text) {
    auto addr = parse_arg_address(a, text);
    addr.local = mail::ascii_lower(addr.local);
    return addr;
}

void show_pair(Admin& a, const std::string& what, const std::optional<mail::TextPair>& p) {
    if (!p) {
        a.fail(mail::Errc::nouser, "no " + what);
        return;
    }
    if (a.json) {
        mail::JsonWriter w;
        print_json(w.begin_object().key("text").value(p->text).key("html").value(p->html).end_object());
        return;
    }
    fmt::print("{}", p->text);
    if (!p->html.empty()) fmt::print("{}-- HTML --\n{}", p->text.ends_with('\n') ? "" : "\n", p->html);
}

void autoreply_set(Admin& a) {
    auto& g = a.args;
    mail::AutoreplySettings s;
    auto mbox = mailbox_of(a, g.name);
    s.subject = g.subject;
    s.body = read_text(a, g.text_file);
    s.html = read_text(a, g.html_file);
    if (s.body.empty()) {
        a.fail(mail::Errc::usage, "the reply needs a body (--body-file)");
        return;
    }
    s.start = date_arg(a, g.from);
    s.until = date_arg(a, g.until);
    if (s.start && s.until && s.until <= s.start) {
        a.fail(mail::Errc::usage, "--until must come after --from");
        return;
    }
    auto iv = mail::parse_duration(g.interval);
    if (!iv) {
        a.fail(mail::Errc::usage, "invalid interval '" + g.interval + "' (such as 1d or 7d)");
        return;
    }
    s.interval = *iv;
    for (auto& x : g.values) s.extra.push_back(parse_arg_address(a, x).str());
    must(a, a.directory().set_autoreply(mbox, s));
}

void autoreply_show(Admin& a) {
    auto s = must(a, a.directory().autoreply(mailbox_of(a, a.args.name)));
    if (!s) {
        a.fail(mail::Errc::nouser, "no auto-reply for " + a.args.name);
        return;
    }
    int64_t now = time(nullptr);
    bool active = (!s->start || now >= s->start) && (!s->until || now < s->until);
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("address").value(s->address).key("active").value(active);
        w.key("subject").value(s->subject).key("body").value(s->body).key("html").value(s->html);
        w.key("from").value(s->start ? format_time(s->start) : "").key("until").value(s->until ? format_time(s->until) : "");
        w.key("interval").value(s->interval).key("extra_addresses").begin_array();
        for (auto& x : s->extra) w.value(x);
        print_json(w.end_array().end_object());
        return;
    }
    fmt::print("address: {}\nactive: {}\nsubject: {}\nfrom: {}\nuntil: {}\ninterval: {}s\n", s->address,
               active ? "yes" : "no", s->subject.empty() ? "(Auto: original subject)" : s->subject,
               s->start ? format_time(s->start) : "-", s->until ? format_time(s->until) : "-", s->interval);
    for (auto& x : s->extra) fmt::print("extra address: {}\n", x);
    fmt::print("\n{}", s->body);
}

} // namespace

void add_message_commands(CLI::App& app, CLI::App& domain, Admin& a) {
    auto& g = a.args;
    auto* sig = app.add_subcommand("signature", "a mailbox's signature, added to the mail it sends")
                    ->require_subcommand(1);
    auto* set = sig->add_subcommand("set", "set the signature");
    set->add_option("address", g.name)->required();
    set->add_option("--text-file", g.text_file, "plain-text signature")->required();
    set->add_option("--html-file", g.html_file, "HTML signature");
    set->callback(guard([&a] {
        must(a, a.directory().set_signature(mailbox_of(a, a.args.name),
                                            {read_text(a, a.args.text_file), read_text(a, a.args.html_file)}));
    }));
    auto* show = sig->add_subcommand("show", "print the signature");
    show->add_option("address", g.name)->required();
    show->callback(guard([&a] {
        show_pair(a, "signature for " + a.args.name, must(a, a.directory().signature(mailbox_of(a, a.args.name))));
    }));
    auto* rm = sig->add_subcommand("remove", "remove the signature");
    rm->add_option("address", g.name)->required();
    rm->callback(guard([&a] { must(a, a.directory().remove_signature(mailbox_of(a, a.args.name))); }));

    auto* dis = domain.add_subcommand("disclaimer", "a domain's disclaimer, added after signatures")
                    ->require_subcommand(1);
    auto* dset = dis->add_subcommand("set", "set the disclaimer");
    dset->add_option("domain", g.domain)->required();
    dset->add_option("--text-file", g.text_file, "plain-text disclaimer")->required();
    dset->add_option("--html-file", g.html_file, "HTML disclaimer");
    dset->callback(guard([&a] {
        must(a, a.directory().set_disclaimer(mail::ascii_lower(a.args.domain),
                                             {read_text(a, a.args.text_file), read_text(a, a.args.html_file)}));
    }));
    auto* dshow = dis->add_subcommand("show", "print the disclaimer");
    dshow->add_option("domain", g.domain)->required();
    dshow->callback(guard([&a] {
        show_pair(a, "disclaimer for " + a.args.domain,
                  must(a, a.directory().disclaimer(mail::ascii_lower(a.args.domain))));
    }));
    auto* drm = dis->add_subcommand("remove", "remove the disclaimer");
    drm->add_option("domain", g.domain)->required();
    drm->callback(guard([&a] { must(a, a.directory().remove_disclaimer(mail::ascii_lower(a.args.domain))); }));

    auto* ar = app.add_subcommand("autoreply", "out-of-office replies")->require_subcommand(1);
    auto* aset = ar->add_subcommand("set", "turn the auto-reply on (or change it)");
    aset->add_option("address", g.name)->required();
    aset->add_option("--subject", g.subject, "reply subject (default: Auto: <original subject>)");
    aset->add_option("--body-file", g.text_file, "reply text (UTF-8)")->required();
    aset->add_option("--html-file", g.html_file, "reply HTML");
    aset->add_option("--from", g.from, "first day (YYYY-MM-DD[THH:MM], UTC)");
    aset->add_option("--until", g.until, "end (YYYY-MM-DD[THH:MM], UTC), not included");
    aset->add_option("--interval", g.interval, "one reply per sender per interval (default 7d)");
    aset->add_option("--extra-address", g.values, "another address of the user (repeatable)");
    aset->callback(guard([&a] { autoreply_set(a); }));
    auto* ashow = ar->add_subcommand("show", "show the auto-reply");
    ashow->add_option("address", g.name)->required();
    ashow->callback(guard([&a] { autoreply_show(a); }));
    auto* aoff = ar->add_subcommand("off", "turn the auto-reply off");
    aoff->add_option("address", g.name)->required();
    aoff->callback(guard([&a] { must(a, a.directory().remove_autoreply(mailbox_of(a, a.args.name))); }));
}
