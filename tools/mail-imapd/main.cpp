// mail-imapd: the IMAP server, one process per connection, on the
// Maildir++ store. Connections come on stdin/stdout (inetd), by
// LISTEN_FDS (systemd), or --listen, as for mail-smtpd and mail-pop3d.
#include <clocale>

#include "base/config.hpp"
#include "base/tool.hpp"
#include "directory/directory.hpp"
#include "imapd/session.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"

namespace {

struct Options {
    std::optional<std::string> config;
    std::string tls = "starttls"; // starttls | implicit | none
    std::vector<std::string> listen;
};

int session(const mail::Config& cfg, const mail::net::TlsOptions& tls, int in, int out,
            const mail::net::Peer& peer) {
    mail::net::on_deadline_exit("<6>mail-imapd: imapd.timeout: client timed out\n",
                                "* BYE autologout: idle for too long\r\n");
    mail::net::Stream io(in, out);
    auto dir = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
    if (!dir) {
        mail::log::error("imapd.start", dir.error());
        io.write("* BYE [UNAVAILABLE] temporary problem, try again later\r\n");
        io.flush();
        return mail::exit_status(mail::Errc::tempfail);
    }
    mail::imap::Session s(cfg, std::move(*dir), io, peer, tls);
    return s.run();
}

int run(const Options& o) {
    return mail::net::run_server(o.config, o.tls, o.listen, "* BYE [UNAVAILABLE] too many connections, try again later\r\n", session,
                                 mail::net::Service::imapd);
}

} // namespace

int main(int argc, char** argv) {
    std::setlocale(LC_CTYPE, "C.UTF-8"); // case-insensitive SEARCH beyond ASCII
    CLI::App app{"IMAP server"};
    Options o;
    app.add_option("--config", o.config, "configuration file");
    app.add_option("--tls", o.tls, "starttls (default), implicit or none")
        ->check(CLI::IsMember({"starttls", "implicit", "none"}));
    app.add_option("--listen", o.listen, "ADDR:PORT to listen on (repeatable)");
    return mail::run_tool("mail-imapd", app, argc, argv, [&] { return run(o); });
}
