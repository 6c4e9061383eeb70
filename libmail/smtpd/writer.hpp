// The message as it arrives (DATA or BDAT). The header block is held in
// memory (up to smtpd.max_header_size) so that fields can be checked and
// added before it. The rest is held in memory too while the message is
// small (up to `memory_limit`), so that it can be delivered at once
// without a queue file; past that it goes to a new queue file, which the
// opener makes. Line ends are LF, as in the queue and Maildir.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/files.hpp"
#include "message/header.hpp"

namespace mail::smtp {

class MessageWriter {
  public:
    using Opener = std::function<Result<DurableFile>()>;
    MessageWriter(Opener open, size_t max_header, size_t memory_limit)
        : open_(std::move(open)), max_header_(max_header), memory_limit_(memory_limit) {}
    // Message text with LF line ends. False once the header is too large
    // or a write failed (see error()).
    bool add(std::string_view text);
    // The header block, complete once the blank line (or the end) is seen.
    std::string_view header() const { return head_; }
    bool header_done() const { return in_body_; }
    bool started() const { return started_; }
    // Put `prefix` (Received: and added fields) before the held header.
    // Called once the header is complete; add() then appends the body.
    bool start(std::string_view prefix);
    // Keep the whole message in memory whatever its size (bounded by the
    // message size limit), for a transformation at the end (signatures).
    void hold() { memory_limit_ = SIZE_MAX; }
    // The whole message, transformed, while it is in memory (nullopt once
    // it went to a file). The writer is done with it then.
    std::optional<std::string> take(const std::function<std::string(std::string)>& transform = {});
    // Into the queue: the file, made now if the message was in memory,
    // committed as `final_path`.
    Status commit(const std::string& final_path, std::string_view text);
    bool header_too_big() const { return too_big_; }
    const std::optional<Error>& error() const { return error_; }

  private:
    void check(Status st);
    bool to_file(); // past the memory limit
    Opener open_;
    std::optional<DurableFile> file_;
    size_t max_header_, memory_limit_;
    std::string head_, held_;
    bool in_body_ = false, started_ = false, too_big_ = false;
    std::optional<Error> error_;
};

} // namespace mail::smtp
