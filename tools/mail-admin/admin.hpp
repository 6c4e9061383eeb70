// mail-admin's shared state: the configuration and directory (opened on
// first use, so that `init` can create them), output mode and the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <optional>
#include <string>

#include "base/config.hpp"
#include "base/json.hpp"
#include "directory/directory.hpp"

struct Admin {
    std::optional<std::string> config_path;
    bool json = false;
    int rc = 0;
    std::optional<mail::Config> cfg;
    std::optional<mail::Directory> dir;
    // Arguments of the one subcommand that runs.
    struct {
        std::string name, domain, quota, selector = "mail", algorithm = "rsa-sha256";
        std::string text_file, html_file, subject, from, until, interval = "7d";
        std::vector<std::string> values;
        bool force = false, purge = false, password_stdin = false, no_password = false,
             repair = false;
    } args;

    mail::Config& config();    // throws AdminExit on failure
    mail::Directory& directory();
    // Print "mail-admin: <user text>" (and the detail when it helps) and set rc.
    void fail(const mail::Error& e);
    void fail(mail::Errc code, const std::string& text) { fail(mail::make_error(code, text)); }
    std::string mailbox_root(const mail::Address& a);
};

// Thrown to stop a subcommand after fail() has set the exit code.
struct AdminExit {};

template <typename T> T must(Admin& a, mail::Result<T> r) {
    if (!r) {
        a.fail(r.error());
        throw AdminExit{};
    }
    return std::move(*r);
}
inline void must(Admin& a, mail::Status r) {
    if (!r) {
        a.fail(r.error());
        throw AdminExit{};
    }
}

// A mailbox, alias or group address given on the command line.
mail::Address parse_arg_address(Admin& a, const std::string& text);
// Password from --password-stdin (one line) or a no-echo prompt on a TTY.
std::string read_password(Admin& a, bool from_stdin);
void print_json(const mail::JsonWriter& w);
std::string format_time(int64_t t);
// Remove a tree (for --purge); the path is built from validated names.
mail::Status remove_tree(const std::string& path);

void add_init_commands(CLI::App& app, Admin& a);
void add_domain_commands(CLI::App& app, Admin& a);
void add_mailbox_commands(CLI::App& app, Admin& a);
void add_alias_commands(CLI::App& app, Admin& a);
void add_group_commands(CLI::App& app, Admin& a);
void add_check_commands(CLI::App& app, Admin& a);
void add_dkim_commands(CLI::App& app, Admin& a);
void add_fetch_commands(CLI::App& app, Admin& a);
void add_dmarc_commands(CLI::App& app, Admin& a);
// signature, domain disclaimer (under `domain`), autoreply
void add_message_commands(CLI::App& app, CLI::App& domain, Admin& a);

// The DNS records a domain needs: MX, SPF, DKIM (one per key), DMARC.
struct DnsRecord {
    std::string name, type, value;
};
std::vector<DnsRecord> dns_records(Admin& a, const std::string& domain);
void print_dns_records(Admin& a, const std::vector<DnsRecord>& records, mail::JsonWriter* w);

// A subcommand's callback: AdminExit ends it quietly (rc already set).
template <typename F> std::function<void()> guard(F f) {
    return [f] {
        try {
            f();
        } catch (const AdminExit&) {
        }
    };
}
