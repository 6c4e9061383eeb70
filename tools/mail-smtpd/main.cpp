// mail-smtpd: the SMTP server. It answers 250 only once a message is safe:
// delivered to its local recipients (when it runs as the store's owner),
// the rest committed to the queue for `mail-queue run`. Connections come
// on stdin/stdout, by LISTEN_FDS, or --listen; a listening server's
// processes serve up to smtpd.max_use connections each (net/listen.hpp),
// keeping the directory and the queue open from one to the next.
#include <unistd.h>

#include "base/config.hpp"
#include "base/tool.hpp"
#include "directory/directory.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"
#include "spool/spool.hpp"
#include "smtpd/session.hpp"

namespace {

struct Options {
    std::optional<std::string> config;
    std::string role = "mx";
    std::string tls = "starttls"; // starttls | implicit | none
    std::vector<std::string> listen;
};

// Kept for the process's next connections (destroyed in the reverse
// order: the delivery agent first, which does the index updates of up to
// ten messages it kept for later, see Session::run).
std::optional<mail::Directory> dir;
std::optional<mail::queue::Spool> spool;
std::optional<mail::LocalDelivery> local;

void finish_deliveries() {
    if (local) local->finish();
}

int unavailable(mail::net::Stream& io, const mail::Error& e) {
    mail::log::error("smtpd.start", e);
    io.write("421 4.3.0 temporary local problem, try again later\r\n");
    io.flush();
    return mail::exit_status(mail::Errc::tempfail);
}

int session(const mail::Config& cfg, const mail::smtp::SessionOptions& so, int in, int out,
            const mail::net::Peer& peer) {
    mail::net::on_deadline_exit("<6>mail-smtpd: smtpd.timeout: client timed out\n",
                                "421 4.4.2 timeout, closing the connection\r\n");
    mail::net::Stream io(in, out);
    if (!dir) {
        auto d = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
        if (!d) return unavailable(io, d.error());
        dir.emplace(std::move(*d));
    }
    if (!spool) {
        auto q = mail::queue::Spool::open(mail::queue::spool_dir(cfg));
        if (!q) return unavailable(io, q.error());
        spool.emplace(std::move(*q));
    }
    // As the store's owner the session delivers local mail itself.
    if (!local && cfg.smtpd.deliver_local && !spool->shared()) {
        local.emplace(cfg, *dir);
        local->keep_after_store(10, 1 << 20); // see Session::run
    }
    mail::smtp::SessionOptions o = so;
    o.local = local ? &*local : nullptr;
    mail::smtp::Session s(cfg, *dir, *spool, io, peer, o);
    return s.run();
}

int run(const Options& o) {
    mail::smtp::SessionOptions so;
    so.role = o.role == "submission" ? mail::smtp::Role::submission : mail::smtp::Role::mx;
    return mail::net::run_server(o.config, o.tls, o.listen, "421 4.7.0 too many connections, try again later\r\n",
                                 [&](const mail::Config& cfg, const mail::net::TlsOptions& tls, int in, int out,
                                     const mail::net::Peer& peer) {
                                     so.tls = tls;
                                     return session(cfg, so, in, out, peer);
                                 },
                                 mail::net::Service::smtpd, finish_deliveries);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"SMTP server (MX and submission)"};
    Options o;
    app.add_option("--config", o.config, "configuration file");
    app.add_option("--role", o.role, "mx (default) or submission")
        ->check(CLI::IsMember({"mx", "submission"}));
    app.add_option("--tls", o.tls, "starttls (default), implicit or none")
        ->check(CLI::IsMember({"starttls", "implicit", "none"}));
    app.add_option("--listen", o.listen, "ADDR:PORT to listen on (repeatable)");
    return mail::run_tool("mail-smtpd", app, argc, argv, [&] { return run(o); });
}
