#include "request.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/files.hpp"

namespace mail::service {

namespace {

constexpr std::string_view request_magic = "facteur-deliver 1\n";
constexpr std::string_view answer_magic = "facteur-delivered 1\n";
constexpr size_t max_answer = 256 * 1024; // a line per recipient

bool clean(std::string_view s) { return s.find_first_of("\t\n") == std::string_view::npos; }

} // namespace

std::string socket_path(const Config& cfg) { return cfg.state_dir + "/deliver.sock"; }

bool socket_address(const std::string& path, sockaddr_un& sa) {
    sa = sockaddr_un{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return false;
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    return true;
}

std::optional<std::string> sender_arg(const std::string& arg) {
    std::string from = arg;
    if (from.size() >= 2 && from.front() == '<' && from.back() == '>') from = from.substr(1, from.size() - 2);
    if (from.find_first_of("\r\n<>") != std::string::npos) return std::nullopt;
    return from;
}

std::string format_request(const Request& r) {
    std::string s(request_magic);
    s += "from\t" + r.sender + "\n";
    for (auto& a : r.recipients) s += "rcpt\t" + a + "\n";
    return s;
}

Result<Request> parse_request(std::string_view text) {
    if (!text.starts_with(request_magic)) return make_error(Errc::data, "not a delivery request");
    text.remove_prefix(request_magic.size());
    Request r;
    bool from = false;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        if (nl == std::string_view::npos) return make_error(Errc::data, "delivery request: line without its end");
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.starts_with("from\t") && !from) r.sender = line.substr(5), from = true;
        else if (line.starts_with("rcpt\t") && line.size() > 5) r.recipients.emplace_back(line.substr(5));
        else return make_error(Errc::data, "delivery request: bad line");
    }
    if (!from || r.recipients.empty()) return make_error(Errc::data, "delivery request without sender or recipient");
    return r;
}

std::string format_answer(const Answer& a) {
    std::string s(answer_magic);
    for (size_t i = 0; i < a.lines.size(); i++) {
        std::string line = a.lines[i];
        for (char& c : line)
            if (c == '\n') c = ' ';
        s += (a.ok[i] ? "ok\t" : "no\t") + line + "\n";
    }
    return s + "exit\t" + std::to_string(a.exit_code) + "\n";
}

Result<Answer> parse_answer(std::string_view text) {
    if (!text.starts_with(answer_magic)) return make_error(Errc::tempfail, "delivery service: bad answer");
    text.remove_prefix(answer_magic.size());
    Answer a;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        if (nl == std::string_view::npos) break;
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.starts_with("exit\t")) {
            a.exit_code = std::atoi(std::string(line.substr(5)).c_str());
            return a;
        }
        if (!line.starts_with("ok\t") && !line.starts_with("no\t"))
            return make_error(Errc::tempfail, "delivery service: bad answer");
        a.ok.push_back(line.starts_with("ok"));
        a.lines.emplace_back(line.substr(3));
    }
    return make_error(Errc::tempfail, "delivery service: answer cut short");
}

std::optional<Result<Answer>> ask(const std::string& path, int message_fd, const Request& r) {
    for (auto& a : r.recipients)
        if (!clean(a)) return std::nullopt; // the service's format cannot say it: in-process
    sockaddr_un sa;
    if (!socket_address(path, sa)) return std::nullopt;
    Fd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s || connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return std::nullopt;
    // Refused before it was taken (the service stopping): in-process.
    if (!send_with_fd(s.get(), format_request(r), message_fd)) return std::nullopt;
    // Not zeroed: only what arrives is touched (this process starts once per message).
    std::unique_ptr<char[]> answer(new char[max_answer]);
    ssize_t n;
    while ((n = ::recv(s.get(), answer.get(), max_answer, 0)) < 0 && errno == EINTR) {}
    if (n <= 0)
        return Result<Answer>(make_error(Errc::tempfail, "temporary local problem",
                                         "the delivery service ended without an answer"));
    return parse_answer(std::string_view(answer.get(), static_cast<size_t>(n)));
}

} // namespace mail::service
