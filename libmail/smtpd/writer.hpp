// The message as it arrives (DATA or BDAT), written to a new queue file.
// The header block is held in memory (up to smtpd.max_header_size) so
// that fields can be checked and added before it; the body goes straight
// to the file. Line ends are LF, as in the queue and Maildir.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/files.hpp"
#include "message/header.hpp"

namespace mail::smtp {

class MessageWriter {
  public:
    MessageWriter(DurableFile file, size_t max_header) : file_(std::move(file)), max_header_(max_header) {}
    // Message text with LF line ends. False once the header is too large
    // or a write failed (see error()).
    bool add(std::string_view text);
    // The header block, complete once the blank line (or the end) is seen.
    std::string_view header() const { return head_; }
    bool header_done() const { return in_body_; }
    bool started() const { return started_; }
    // Write `prefix` (Received: and added fields) then the held header.
    // Called once the header is complete; add() then writes through.
    bool start(std::string_view prefix);
    // Keep the whole message in memory instead (bounded by the message
    // size limit), for commit() to transform it first (signatures).
    void hold() { hold_ = true; }
    Status commit(const std::string& final_path,
                  const std::function<std::string(std::string)>& transform = {});
    bool header_too_big() const { return too_big_; }
    const std::optional<Error>& error() const { return error_; }

  private:
    void check(Status st);
    DurableFile file_;
    size_t max_header_;
    std::string head_, held_;
    bool in_body_ = false, started_ = false, too_big_ = false, hold_ = false;
    std::optional<Error> error_;
};

} // namespace mail::smtp
