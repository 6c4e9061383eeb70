// mail-fetch: bring users' outside IMAP and POP3 mailboxes home. Each
// account runs in a process of its own (one bad account never holds the
// others), at most fetch.max_parallel at once. --once runs the accounts
// once (for a timer); --daemon schedules them by their interval, notices
// accounts added, changed or removed with mail-admin, and holds an IMAP
// IDLE on the remote INBOX where the server allows it.
#include <csignal>
#include <ctime>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

#include "base/owner.hpp"
#include "base/clock.hpp"
#include "auth/secret.hpp"
#include "base/config.hpp"
#include "base/tool.hpp"
#include "directory/directory.hpp"
#include "fetch/schedule.hpp"
#include "fetch/state.hpp"
#include "fetch/sync.hpp"

namespace {

volatile sig_atomic_t stopping = 0;
void on_stop(int) { stopping = 1; }

std::string describe(const mail::FetchAccount& a) {
    return fmt::format("account {} ({} <- {}://{}@{})", a.id, a.address, a.protocol, a.user, a.host);
}

// The progress of a first import, on a terminal: one line, rewritten.
class ProgressLine {
  public:
    ProgressLine(int64_t id, bool alone) : id_(id), alone_(alone), start_(now()) {}
    void operator()(const mail::fetch::Progress& p) {
        double t = now();
        bool last = p.messages == p.total;
        if (!last && t - shown_ < (alone_ ? 0.25 : 5.0)) return;
        shown_ = t;
        double rate = p.messages / std::max(t - start_, 0.001);
        double left = rate > 0 ? (p.total - p.messages) / rate : 0;
        std::string line = fmt::format("account {} {}: {}/{} messages, {:.1f}/{:.1f} MB, {:.0f} msg/s, {:.0f} s left",
                                       id_, p.folder, p.messages, p.total, p.bytes / 1048576.0,
                                       p.total_bytes / 1048576.0, rate, left);
        if (alone_) fmt::print(stderr, "\r\x1b[K{}{}", line, last ? "\n" : "");
        else fmt::print(stderr, "{}\n", line);
    }

  private:
    static double now() {
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
    }
    int64_t id_;
    bool alone_;
    double start_, shown_ = 0;
};

// One run of one account, in its own process: returns the exit code.
int run_account(const mail::Config& cfg, int64_t id, int idle_seconds, bool progress, bool alone) {
    auto dir = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
    if (!dir) return mail::log::error("directory", dir.error()), mail::exit_status(mail::Errc::tempfail);
    auto a = dir->fetch_account(id);
    if (!a) return mail::log::error("fetch.account", a.error()), mail::exit_status(a.error());
    auto state = mail::fetch::State::open(cfg.state_dir);
    if (!state) return mail::log::error("fetch.state", state.error()), mail::exit_status(mail::Errc::tempfail);
    auto box = mail::SecretBox::open(cfg.secret_key_path());
    if (!box) return mail::log::error("fetch.secret", box.error()), mail::exit_status(mail::Errc::config);
    auto password = box->unseal(a->sealed_password, a->seal_context());
    if (!password) return mail::log::error("fetch.secret", password.error()), mail::exit_status(mail::Errc::config);

    mail::fetch::SyncOptions opt;
    opt.timeout = cfg.fetch.timeout;
    opt.command_time = cfg.fetch.command_timeout;
    opt.idle_seconds = idle_seconds;
    ProgressLine line(id, alone);
    if (progress) opt.progress = [&](const mail::fetch::Progress& p) { line(p); };
    int64_t started = mail::now();
    auto r = mail::fetch::sync_account(cfg, *dir, *state, *a, *password, opt);
    auto before = state->health(id);
    if (!before) return mail::log::error("fetch.state", before.error()), mail::exit_status(mail::Errc::tempfail);
    auto h = mail::fetch::after_run(*before, r, started, mail::now(), cfg.fetch.retry_max,
                                    cfg.fetch.max_auth_failures);
    if (auto saved = state->save_health(id, h); !saved) mail::log::error("fetch.state", saved.error());
    std::string outcome = r.status ? "ok" : "failed: " + r.status.error().user;
    mail::log::info("fetch.run", "{}: {} messages, {} bytes in {} s, {}{}", describe(*a), r.messages, r.bytes,
                    time(nullptr) - started, outcome, r.warnings.empty() ? "" : " (" + r.warnings.back() + ")");
    for (auto& w : r.warnings) mail::log::warn("fetch.left", "{}: {}", describe(*a), w);
    if (!r.status) {
        if (!r.status.error().detail.empty()) mail::log::warn("fetch.detail", "{}", r.status.error().detail);
        if (!h.disabled.empty()) mail::log::err("fetch.disabled", "{}: {}", describe(*a), h.disabled);
        return mail::exit_status(r.status.error().code == mail::Errc::noperm ? mail::Errc::noperm : mail::Errc::tempfail);
    }
    return 0;
}

mail::fetch::HealthOf health_of(mail::fetch::State& state) {
    return [&state](int64_t id) { return state.health(id); };
}

pid_t spawn(const std::function<int()>& body) {
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL), signal(SIGINT, SIG_DFL);
        _exit(body());
    }
    if (pid < 0) mail::log::err("fetch.fork", "fork: {}", strerror(errno));
    return pid;
}

// One pass over the chosen accounts (all when none is named), at most
// fetch.max_parallel at once; the exit code is the worst of theirs.
int once(const mail::Config& cfg, const std::vector<std::string>& addresses, const std::vector<int64_t>& ids) {
    auto dir = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
    if (!dir) return mail::log::error("directory", dir.error()), mail::exit_status(mail::Errc::tempfail);
    auto state = mail::fetch::State::open(cfg.state_dir);
    if (!state) return mail::log::error("fetch.state", state.error()), mail::exit_status(mail::Errc::tempfail);
    auto all = dir->fetch_accounts("");
    if (!all) return mail::log::error("directory", all.error()), mail::exit_status(mail::Errc::tempfail);
    std::vector<mail::fetch::Skip> skipped;
    auto runs = mail::fetch::pass_accounts(*all, addresses, ids, health_of(*state), mail::now(), &skipped);
    if (!runs) {
        fmt::print(stderr, "mail-fetch: {}\n", runs.error().user);
        return mail::exit_status(runs.error());
    }
    for (auto& s : skipped) {
        if (s.disabled) mail::log::warn("fetch.skip", "{}: {}", describe(s.account), s.why);
        else mail::log::info("fetch.skip", "{}: {}", describe(s.account), s.why);
    }
    bool tty = isatty(STDERR_FILENO);
    std::map<pid_t, int64_t> running;
    int worst = 0;
    auto reap = [&] {
        int status;
        pid_t pid = wait(&status);
        if (pid <= 0) return;
        running.erase(pid);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : mail::exit_status(mail::Errc::tempfail);
        // A refused login (noperm) outranks every other failure.
        if (code == mail::exit_status(mail::Errc::noperm) || (code && worst != mail::exit_status(mail::Errc::noperm)))
            worst = code;
    };
    for (auto& a : *runs) {
        while (running.size() >= static_cast<size_t>(cfg.fetch.max_parallel)) reap();
        bool alone = runs->size() == 1;
        pid_t pid = spawn([&] { return run_account(cfg, a.id, 0, tty, alone); });
        if (pid > 0) running[pid] = a.id;
        else worst = mail::exit_status(mail::Errc::tempfail);
    }
    while (!running.empty()) reap();
    return worst;
}

int daemon(const mail::Config& cfg) {
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    std::map<pid_t, mail::fetch::Running> running;
    mail::fetch::Schedule schedule(cfg.fetch.max_parallel, cfg.fetch.max_idle);
    time_t reloaded = 0;
    std::vector<mail::FetchAccount> accounts;
    std::optional<mail::fetch::State> state; // opened once, again after a failure
    mail::log::info("fetch.start", "daemon: {} accounts at once, {} IDLE sessions", cfg.fetch.max_parallel,
                    cfg.fetch.max_idle);
    auto now_running = [&] {
        std::vector<mail::fetch::Running> out;
        for (auto& [pid, r] : running) out.push_back(r);
        return out;
    };
    while (!stopping) {
        time_t now = mail::now();
        if (now - reloaded >= 5) {
            reloaded = now;
            auto dir = mail::Directory::open(cfg.directory_path(), mail::Db::Access::read_only);
            auto all = dir ? dir->fetch_accounts("") : mail::Result<std::vector<mail::FetchAccount>>(dir.error());
            if (all) accounts = std::move(*all);
            else mail::log::error("directory", all.error());
            for (auto id : schedule.to_stop(accounts, now_running()))
                for (auto& [pid, r] : running)
                    if (r.account == id) kill(pid, SIGTERM);
        }
        if (!state) {
            auto opened = mail::fetch::State::open(cfg.state_dir);
            if (opened) state.emplace(std::move(*opened));
            else mail::log::error("fetch.state", opened.error());
        }
        if (state)
            for (auto& s : schedule.to_start(accounts, now_running(), health_of(*state), now)) {
                pid_t pid = spawn([&] { return run_account(cfg, s.account.id, s.idle_seconds, false, false); });
                if (pid <= 0) break;
                running[pid] = mail::fetch::Running{s.account.id, s.account.updated, s.idle};
            }
        sleep(1);
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) running.erase(pid);
    }
    for (auto& [pid, r] : running) kill(pid, SIGTERM);
    while (wait(nullptr) > 0) {}
    mail::log::info("fetch.stop", "daemon stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Fetch mail from outside IMAP and POP3 accounts into local mailboxes"};
    std::optional<std::string> config;
    bool run_once = false, run_daemon = false;
    std::vector<std::string> addresses;
    std::vector<int64_t> ids;
    app.add_option("--config", config, "configuration file");
    auto* o = app.add_flag("--once", run_once, "run the accounts once, then exit (for a timer)");
    auto* d = app.add_flag("--daemon", run_daemon, "run every account by its interval, until stopped");
    o->excludes(d);
    app.add_option("--account", ids, "only this account (its number in mail-admin fetch list)")->excludes(d);
    app.add_option("address", addresses, "only the accounts of these mailboxes (with --once)")->excludes(d);
    return mail::run_tool("mail-fetch", app, argc, argv, [&]() -> int {
        if (!run_once && !run_daemon) {
            fmt::print(stderr, "mail-fetch: say --once or --daemon\n");
            return mail::exit_status(mail::Errc::usage);
        }
        auto cfg = mail::load_config_as_owner(config);
        if (!cfg) return mail::log::error("config", cfg.error()), mail::exit_status(mail::Errc::config);
        return run_daemon ? daemon(*cfg) : once(*cfg, addresses, ids);
    });
}
