// mail-deliver-local: mail-deliver's delivery in its own process, for when
// no delivery service listens (mail-deliver execs it then) or by choice.
// It exits 0 only when every recipient's copy is on disk and synced; any
// local trouble is EX_TEMPFAIL (75) so the caller keeps the message and
// tries again. With --status the caller learns which recipients failed.
#include <unistd.h>

#include "base/owner.hpp"
#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/files.hpp"
#include "base/tool.hpp"
#include "deliver/deliver.hpp"
#include "deliver/request.hpp"
#include "../mail-deliver/options.hpp"
#include "directory/directory.hpp"

namespace {

int deliver(const std::optional<std::string>& config, const std::string& sender,
            const std::vector<std::string>& rcpts, bool print_status) {
    auto cfg = mail::load_config_as_owner(config);
    if (!cfg) {
        mail::log::error("config", cfg.error());
        return mail::exit_status(mail::Errc::tempfail); // a broken config is fixable: keep the mail
    }
    auto dir = mail::Directory::open(cfg->directory_path(), mail::Db::Access::read_only);
    if (!dir) {
        mail::log::error("directory", dir.error());
        return mail::exit_status(mail::Errc::tempfail);
    }
    // One byte over the limit is enough to refuse the message as too big.
    auto msg = mail::read_fd(STDIN_FILENO, cfg->delivery.max_message_size, "stdin");
    if (!msg) {
        mail::log::error("read", msg.error());
        return mail::exit_status(mail::Errc::tempfail);
    }
    msg->shrink(mail::crlf_to_lf(msg->data(), msg->size()));
    auto from_arg = mail::service::sender_arg(sender);
    if (!from_arg) {
        fmt::print(stderr, "mail-deliver: invalid sender '{}'\n", sender);
        return mail::exit_status(mail::Errc::usage);
    }
    const std::string& from = *from_arg;
    mail::LocalDelivery agent(*cfg, *dir);
    auto results = agent.deliver(msg->view(), from, rcpts);
    for (auto& r : results) {
        if (print_status) fmt::print("{}\t{} {}\n", r.recipient, r.dsn, r.text);
        else if (!r.ok()) fmt::print(stderr, "mail-deliver: {}: {} {}\n", r.recipient, r.dsn, r.text);
    }
    std::fflush(stdout);
    return mail::exit_code(results);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Deliver one message from standard input to local addresses"};
    DeliverArgs a;
    add_deliver_options(app, a);
    return mail::run_tool("mail-deliver-local", app, argc, argv, [&] { return deliver(a.config, a.sender, a.rcpts, a.print_status); });
}
