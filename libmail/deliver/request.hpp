// mail-deliver's request to the delivery service of `mail-queue run`, on
// the Unix socket <state_dir>/deliver.sock (the store's owner's only).
// The message travels as a descriptor: the caller's standard input when it
// is a file, else a memory file it was copied into; the service delivers
// it as mail-deliver would (same steps, same promises: an answer only once
// every copy is safe) with the mailbox indexes it keeps open, and answers
// one line per recipient and the exit status. mail-deliver starts in a
// fraction of the time it needs to open the directory and an index itself;
// without a service it does the delivery itself (mail-deliver-local).
//
// This file links nothing but base: the client must stay small.
#pragma once

#include <optional>
#include <sys/un.h>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
#include "base/result.hpp"

namespace mail::service {

std::string socket_path(const Config& cfg);
// The socket's address for bind() or connect(); false when `path` is too
// long for one.
bool socket_address(const std::string& path, sockaddr_un& sa);

// mail-deliver's -f argument as an envelope sender: "<a@b>" or "a@b", ""
// for the null sender; nullopt when it holds CR, LF, < or > inside.
std::optional<std::string> sender_arg(const std::string& arg);

struct Request {
    std::string sender;
    std::vector<std::string> recipients;
};
std::string format_request(const Request& r);
Result<Request> parse_request(std::string_view text);

// One recipient's outcome: "address<TAB>dsn text".
struct Answer {
    std::vector<std::string> lines;
    std::vector<bool> ok;
    int exit_code = 75;
};
std::string format_answer(const Answer& a);
Result<Answer> parse_answer(std::string_view text);

// The client: nullopt when no service listens (deliver in-process then);
// an error (tempfail) when the service took the request and ended without
// an answer.
std::optional<Result<Answer>> ask(const std::string& path, int message_fd, const Request& r);

} // namespace mail::service
