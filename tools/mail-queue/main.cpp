// mail-queue: look at and act on the queue, and `run`, the one long-lived
// daemon that delivers it. The on-disk format and its commit point are in
// libmail/queue/spool.hpp and mail-queue(8).
#include <ctime>
#include <fcntl.h>
#include <map>
#include <sys/file.h>
#include <unistd.h>

#include "base/owner.hpp"
#include "base/config.hpp"
#include "base/json.hpp"
#include "base/tool.hpp"
#include "message/header.hpp"
#include "queue/runner.hpp"
#include "spool/spool.hpp"

using namespace mail;

int run_daemon(const Config& cfg, const queue::Spool& spool, bool once);

namespace {

struct Entry {
    queue::Envelope env;
    std::vector<queue::RcptState> state;
    std::string subject;
    size_t size = 0;
};

Result<Entry> load(const queue::Spool& spool, const std::string& id) {
    auto q = spool.load(id);
    if (!q) return q.error();
    auto h = parse_header(q->message());
    return Entry{std::move(q->env), std::move(q->state), h ? h->get("Subject").value_or("") : "",
                 q->message().size()};
}

const char* status_name(const queue::RcptState& r) {
    using S = queue::RcptStatus;
    return r.status == S::done ? "delivered" : r.status == S::failed ? "failed"
           : r.warned ? "delayed" : "pending";
}

void print_entry(JsonWriter* j, const std::string& id, const Entry& e, bool details) {
    if (j) {
        j->begin_object().key("id").value(id).key("arrived").value(e.env.arrived);
        j->key("sender").value(e.env.sender).key("size").value(static_cast<int64_t>(e.size));
        if (details) j->key("subject").value(e.subject).key("client").value(e.env.client);
        j->key("recipients").begin_array();
        for (auto& r : e.state)
            j->begin_object().key("address").value(r.address).key("status").value(status_name(r))
                .key("attempts").value(static_cast<int64_t>(r.attempts)).key("next_attempt").value(r.next)
                .key("dsn").value(r.dsn).key("last_result").value(r.text).end_object();
        j->end_array().end_object();
        return;
    }
    fmt::print("{}  {}  {} bytes  from <{}>\n", id, format_date(e.env.arrived), e.size, e.env.sender);
    if (details) fmt::print("  subject: {}\n  client: {}\n", e.subject, e.env.client);
    for (auto& r : e.state) {
        fmt::print("  <{}> {}", r.address, status_name(r));
        if (r.attempts) fmt::print(", {} attempts", r.attempts);
        if (r.status == queue::RcptStatus::pending && r.next) fmt::print(", next {}", format_date(r.next));
        if (!r.text.empty()) fmt::print(": {} {}", r.dsn, r.text);
        fmt::print("\n");
    }
}

int list(const queue::Spool& spool, bool json, const std::vector<std::string>& only, bool details) {
    auto ids = only.empty() ? spool.ids() : Result<std::vector<std::string>>(only);
    if (!ids) {
        log::error("queue.list", ids.error());
        return mail::exit_status(mail::Errc::tempfail);
    }
    JsonWriter j;
    if (json) j.begin_array();
    int rc = 0;
    for (auto& id : *ids) {
        auto e = load(spool, id);
        if (!e) {
            if (!only.empty()) {
                fmt::print(stderr, "mail-queue: no such entry: {}\n", id);
                rc = 67;
            }
            continue; // removed while we looked
        }
        print_entry(json ? &j : nullptr, id, *e, details);
    }
    if (json) fmt::print("{}\n", j.end_array().str());
    return rc;
}

bool valid_id(const std::string& id) {
    return !id.empty() && id.find('/') == std::string::npos && id[0] != '.';
}

void wake_runner(const queue::Spool& spool) {
    std::string p = spool.dir() + "/flush";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
}

int flush(const queue::Spool& spool, const std::vector<std::string>& only) {
    auto ids = only.empty() ? spool.ids() : Result<std::vector<std::string>>(only);
    if (!ids) return mail::exit_status(mail::Errc::tempfail);
    int rc = 0;
    for (auto& id : *ids) {
        auto lock = valid_id(id) ? spool.lock(id) : Result<Fd>(make_error(Errc::noinput, ""));
        auto e = lock ? load(spool, id) : Result<Entry>(lock.error());
        if (!e) {
            fmt::print(stderr, "mail-queue: no such entry: {}\n", id);
            rc = 67;
            continue;
        }
        for (auto& r : e->state) r.next = 0;
        if (Status st = spool.save_state(id, e->state); !st) {
            log::error("queue.flush", st.error());
            rc = mail::exit_status(mail::Errc::tempfail);
        }
    }
    wake_runner(spool);
    return rc;
}

int remove(const queue::Spool& spool, const std::vector<std::string>& ids) {
    int rc = 0;
    for (auto& id : ids) {
        auto lock = valid_id(id) ? spool.lock(id) : Result<Fd>(make_error(Errc::noinput, ""));
        if (!lock) {
            fmt::print(stderr, "mail-queue: no such entry: {}\n", id);
            rc = 67;
            continue;
        }
        if (Status st = spool.remove(id); !st) {
            log::error("queue.delete", st.error());
            rc = mail::exit_status(mail::Errc::tempfail);
        } else {
            log::info("queue.deleted", "id={} deleted by an administrator", id);
        }
    }
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"The mail queue: list, show, flush, delete, run"};
    app.require_subcommand(1);
    std::optional<std::string> config;
    bool json = false, once = false;
    std::vector<std::string> ids;
    app.add_option("--config", config, "configuration file");
    app.add_flag("--json", json, "JSON output for list and show");
    auto* l = app.add_subcommand("list", "list queued messages and their recipients");
    auto* s = app.add_subcommand("show", "show queued messages in detail");
    s->add_option("id", ids, "queue id")->required();
    auto* f = app.add_subcommand("flush", "retry now (all, or the given ids)");
    f->add_option("id", ids, "queue id");
    auto* d = app.add_subcommand("delete", "remove messages from the queue, undelivered");
    d->add_option("id", ids, "queue id")->required();
    auto* r = app.add_subcommand("run", "deliver the queue (the daemon)");
    r->add_flag("--once", once, "one pass over everything due, then exit");
    for (auto* sub : {l, s}) sub->add_flag("--json", json, "JSON output");
    return run_tool("mail-queue", app, argc, argv, [&]() -> int {
        auto cfg = mail::load_config_as_owner(config);
        if (!cfg) {
            log::error("config", cfg.error());
            return mail::exit_status(mail::Errc::config);
        }
        auto spool = queue::Spool::open(queue::spool_dir(*cfg));
        if (!spool) {
            log::error("queue.open", spool.error());
            return mail::exit_status(mail::Errc::tempfail);
        }
        for (auto& id : ids)
            if (!valid_id(id)) {
                fmt::print(stderr, "mail-queue: invalid queue id '{}'\n", id);
                return mail::exit_status(mail::Errc::usage);
            }
        if (l->parsed()) return list(*spool, json, {}, false);
        if (s->parsed()) return list(*spool, json, ids, true);
        if (f->parsed()) return flush(*spool, ids);
        if (d->parsed()) return remove(*spool, ids);
        return run_daemon(*cfg, *spool, once);
    });
}
