// mail-admin: domains, mailboxes, aliases and groups, for people and for
// shell scripts (--json on every list and show; sysexits exit codes).
#include <ctime>
#include <ftw.h>
#include <termios.h>
#include <unistd.h>

#include "base/owner.hpp"
#include "admin.hpp"
#include "base/tool.hpp"
#include "deliver/deliver.hpp"
#include "store/maildir.hpp"

mail::Config& Admin::config() {
    if (!cfg) cfg = must(*this, mail::load_config_as_owner(config_path));
    return *cfg;
}

mail::Directory& Admin::directory() {
    if (!dir) dir = must(*this, mail::Directory::open(config().directory_path(), mail::Db::Access::read_write));
    return *dir;
}

void Admin::fail(const mail::Error& e) {
    if (e.code == mail::Errc::tempfail && !e.detail.empty())
        fmt::print(stderr, "mail-admin: {} ({})\n", e.user, e.detail);
    else
        fmt::print(stderr, "mail-admin: {}\n", e.user);
    rc = mail::exit_status(e);
}

std::string Admin::mailbox_root(const mail::Address& a) {
    return mail::mailbox_root(config(), a);
}

mail::Address parse_arg_address(Admin& a, const std::string& text) {
    auto r = mail::parse_address(text);
    if (!r) {
        a.fail(mail::Errc::data, "invalid address '" + text + "': " + r.error().user);
        throw AdminExit{};
    }
    return *r;
}

std::string read_password(Admin& a, bool from_stdin) {
    std::string pw;
    if (from_stdin) {
        if (!std::getline(std::cin, pw)) pw.clear();
        if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    } else if (isatty(STDIN_FILENO)) {
        termios old{};
        tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        std::string again;
        fmt::print(stderr, "Password: ");
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        std::getline(std::cin, pw);
        fmt::print(stderr, "\nRepeat: ");
        std::getline(std::cin, again);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fmt::print(stderr, "\n");
        if (pw != again) {
            a.fail(mail::Errc::data, "passwords do not match");
            throw AdminExit{};
        }
    } else {
        a.fail(mail::Errc::usage, "no password: use --password-stdin or run on a terminal");
        throw AdminExit{};
    }
    if (pw.empty()) {
        a.fail(mail::Errc::data, "empty password");
        throw AdminExit{};
    }
    return pw;
}

void print_json(const mail::JsonWriter& w) { fmt::print("{}\n", w.str()); }

std::string format_time(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

mail::Status remove_tree(const std::string& path) {
    auto rm = [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); };
    if (nftw(path.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return mail::sys_error("remove", path);
    return {};
}

int main(int argc, char** argv) {
    Admin a;
    CLI::App app{"Administer facteur: domains, mailboxes, aliases, groups"};
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--config", a.config_path, "configuration file");
    app.add_flag("--json", a.json, "machine-readable output for list and show");
    add_init_commands(app, a);
    add_domain_commands(app, a);
    add_dkim_commands(app, a);
    add_message_commands(app, *app.get_subcommand("domain"), a);
    add_mailbox_commands(app, a);
    add_alias_commands(app, a);
    add_group_commands(app, a);
    add_check_commands(app, a);
    add_fetch_commands(app, a);
    add_dmarc_commands(app, a);
    return mail::run_tool("mail-admin", app, argc, argv, [&] { return a.rc; }, mail::Errc::software);
}
