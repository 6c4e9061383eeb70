// mail-deliver: deliver one message from stdin to local addresses.
// It asks the delivery service of `mail-queue run` (deliver/request.hpp),
// which keeps the directory and the mailbox indexes open; without one it
// execs mail-deliver-local, which does the same work in its own process.
// Either way: exit 0 only when every recipient's copy is on disk and
// synced, EX_TEMPFAIL (75) for any local trouble, --status lines alike.
// This program links no SQLite: it starts in a fraction of the time.
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.hpp"
#include "base/files.hpp"
#include "base/tool.hpp"
#include "deliver/request.hpp"
#include "options.hpp"

namespace {

// The message as a descriptor the service can read at once: standard
// input when it is a file, else a memory file it is copied into (the
// service never waits for a slow writer). -1: trouble (logged).
int message_fd(const mail::Config& cfg) {
    struct stat st;
    if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) return STDIN_FILENO;
    int fd = memfd_create("message", MFD_CLOEXEC);
    if (fd < 0) return -1;
    char buf[64 * 1024];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ::close(fd), -1;
        if (n == 0) break;
        if (::write(fd, buf, static_cast<size_t>(n)) != n) return ::close(fd), -1;
        total += static_cast<uint64_t>(n);
        if (total > cfg.delivery.max_message_size) break; // enough to refuse it as too big
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, STDIN_FILENO) < 0) return ::close(fd), -1;
    ::close(fd);
    return STDIN_FILENO; // mail-deliver-local reads the copy too
}

// The test hooks (FACTEUR_FAULT, FACTEUR_NOW) act on the process they are
// set for: the service would not see them.
bool test_hooks() { return std::getenv("FACTEUR_FAULT") || std::getenv("FACTEUR_NOW"); }

[[noreturn]] void deliver_here(char** argv) {
    std::string self = mail::self_dir() + "/mail-deliver-local";
    execv(self.c_str(), argv);
    fmt::print(stderr, "mail-deliver: cannot run {}: {}\n", self, std::strerror(errno));
    _exit(mail::exit_status(mail::Errc::tempfail));
}

int deliver(const std::optional<std::string>& config, const std::string& sender,
            const std::vector<std::string>& rcpts, bool print_status, char** argv) {
    // As the caller: mail-deliver-local becomes the store's owner itself,
    // and the service takes root's requests too.
    auto cfg = mail::load_config(config);
    if (!cfg) {
        mail::log::error("config", cfg.error());
        return mail::exit_status(mail::Errc::tempfail); // a broken config is fixable: keep the mail
    }
    auto from_arg = mail::service::sender_arg(sender);
    if (!from_arg) {
        fmt::print(stderr, "mail-deliver: invalid sender '{}'\n", sender);
        return mail::exit_status(mail::Errc::usage);
    }
    const std::string& from = *from_arg;
    if (test_hooks()) deliver_here(argv);
    int fd = message_fd(*cfg);
    if (fd < 0) {
        mail::log::err("read", "the message: {}", std::strerror(errno));
        return mail::exit_status(mail::Errc::tempfail);
    }
    auto answer = mail::service::ask(mail::service::socket_path(*cfg), fd, {from, rcpts});
    if (!answer) deliver_here(argv);
    if (!*answer) {
        mail::log::error("deliver.service", answer->error());
        return mail::exit_status(mail::Errc::tempfail);
    }
    const auto& a = **answer;
    for (size_t i = 0; i < a.lines.size(); i++) {
        if (print_status) {
            fmt::print("{}\n", a.lines[i]);
        } else if (!a.ok[i]) {
            std::string line = a.lines[i];
            if (size_t tab = line.find('\t'); tab != std::string::npos) line.replace(tab, 1, ": ");
            fmt::print(stderr, "mail-deliver: {}\n", line);
        }
    }
    std::fflush(stdout);
    return a.exit_code;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Deliver one message from standard input to local addresses"};
    DeliverArgs a;
    add_deliver_options(app, a);
    return mail::run_tool("mail-deliver", app, argc, argv, [&] { return deliver(a.config, a.sender, a.rcpts, a.print_status, argv); });
}
