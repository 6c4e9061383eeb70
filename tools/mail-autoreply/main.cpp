// mail-autoreply: the out-of-office reply of one mailbox to the message on
// standard input, by the same rules as delivery applies (RFC 3834 and
// Sieve vacation): for pipelines and for testing a setting.
#include <ctime>
#include <unistd.h>

#include "base/owner.hpp"
#include "base/clock.hpp"
#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/files.hpp"
#include "base/json.hpp"
#include "base/tool.hpp"
#include "deliver/autoreply.hpp"
#include "deliver/deliver.hpp"
#include "directory/directory.hpp"
#include "message/header.hpp"

namespace {

int run(const std::optional<std::string>& config, const std::string& address, std::optional<std::string> sender,
        bool dry_run, bool json) {
    auto cfg = mail::load_config_as_owner(config);
    if (!cfg) return mail::log::error("config", cfg.error()), mail::exit_status(mail::Errc::config);
    auto dir = mail::Directory::open(cfg->directory_path(), mail::Db::Access::read_only);
    if (!dir) return mail::log::error("directory", dir.error()), mail::exit_status(mail::Errc::tempfail);
    auto addr = mail::parse_address(address);
    if (!addr) {
        fmt::print(stderr, "mail-autoreply: invalid address '{}'\n", address);
        return mail::exit_status(mail::Errc::usage);
    }
    addr->local = mail::ascii_lower(addr->local);
    auto settings = dir->autoreply(*addr);
    if (!settings) {
        fmt::print(stderr, "mail-autoreply: {}\n", settings.error().user);
        return mail::exit_status(settings.error());
    }
    auto msg = mail::read_fd(STDIN_FILENO, cfg->delivery.max_message_size, "stdin");
    if (!msg) return mail::log::error("read", msg.error()), mail::exit_status(mail::Errc::tempfail);
    msg->shrink(mail::crlf_to_lf(msg->data(), msg->size()));
    if (!sender) { // the Return-Path that delivery wrote
        auto h = mail::parse_header(msg->view());
        auto rp = h ? h->get("Return-Path") : std::nullopt;
        if (!rp) {
            fmt::print(stderr, "mail-autoreply: no envelope sender: give -f or a message with Return-Path\n");
            return mail::exit_status(mail::Errc::usage);
        }
        auto p = mail::parse_path(mail::unfold(*rp));
        sender = p ? p->str() : "";
    }
    mail::AutoreplyOutcome out;
    int64_t now = mail::now();
    if (!*settings) out.reason = "the auto-reply of " + addr->str() + " is off";
    else if (dry_run) {
        out.reason = mail::autoreply_refusal(**settings, msg->view(), *sender, now);
        if (out.reason.empty()) out.reason = "would reply";
    } else {
        out = mail::autoreply(*cfg, **settings, msg->view(), *sender, now);
    }
    if (json) {
        mail::JsonWriter w;
        w.begin_object().key("sent").value(out.sent).key("reason").value(out.reason).key("queue_id").value(out.queue_id);
        fmt::print("{}\n", w.end_object().str());
    } else {
        fmt::print("{}{}\n", out.reason, out.sent ? " (queued as " + out.queue_id + ")" : "");
    }
    return out.sent || dry_run || out.reason.find("could not") == std::string::npos ? 0 : mail::exit_status(mail::Errc::tempfail);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Send the out-of-office reply of a mailbox to the message on standard input"};
    std::optional<std::string> config, sender;
    std::string address;
    bool dry_run = false, json = false;
    app.add_option("--config", config, "configuration file");
    app.add_option("-f,--from", sender, "envelope sender of the message (default: its Return-Path)");
    app.add_flag("-n,--dry-run", dry_run, "say whether a reply would be sent, send nothing");
    app.add_flag("--json", json, "the outcome as JSON");
    app.add_option("address", address, "the mailbox whose auto-reply answers")->required();
    return mail::run_tool("mail-autoreply", app, argc, argv, [&] { return run(config, address, sender, dry_run, json); });
}
