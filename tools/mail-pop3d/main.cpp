// mail-pop3d: the POP3 server, one process per connection, on the INBOX of
// the Maildir store. Connections come on stdin/stdout, by LISTEN_FDS, or
// --listen, as for mail-smtpd.
#include "base/config.hpp"
#include "base/tool.hpp"
#include "directory/directory.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"
#include "pop3/session.hpp"

namespace {

struct Options {
    std::optional<std::string> config;
    std::string tls = "starttls"; // starttls | implicit | none
    std::vector<std::string> listen;
};

int session(const mail::Config& cfg, const mail::net::TlsOptions& tls, int in, int out,
            const mail::net::Peer& peer) {
    mail::net::on_deadline_exit("<6>mail-pop3d: pop3d.timeout: client timed out\n",
                                "-ERR [SYS/TEMP] timeout, closing the connection\r\n");
    mail::net::Stream io(in, out);
    auto dir = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
    if (!dir) {
        mail::log::error("pop3d.start", dir.error());
        io.write("-ERR [SYS/TEMP] temporary problem, try again later\r\n");
        io.flush();
        return mail::exit_status(mail::Errc::tempfail);
    }
    mail::pop3::Session s(cfg, *dir, io, peer, tls);
    return s.run();
}

int run(const Options& o) {
    return mail::net::run_server(o.config, o.tls, o.listen, "-ERR [SYS/TEMP] too many connections, try again later\r\n", session,
                                 mail::net::Service::pop3d);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"POP3 server"};
    Options o;
    app.add_option("--config", o.config, "configuration file");
    app.add_option("--tls", o.tls, "starttls (default), implicit or none")
        ->check(CLI::IsMember({"starttls", "implicit", "none"}));
    app.add_option("--listen", o.listen, "ADDR:PORT to listen on (repeatable)");
    return mail::run_tool("mail-pop3d", app, argc, argv, [&] { return run(o); });
}
