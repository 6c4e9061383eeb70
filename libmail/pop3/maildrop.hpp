// The POP3 maildrop: a mailbox's INBOX (new/ and cur/), in index UID order,
// locked against a second POP3 session (IMAP sessions may run alongside).
// UIDL is the Maildir base name: it never changes while the file exists,
// whatever renames flags or moves new/ -> cur/, and survives an index rebuild.
// Sizes are those of the message with CRLF line ends, as RETR sends it
// (without the dot-stuffing). Deletions happen only in commit(), at QUIT.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/files.hpp"

namespace mail::pop3 {

struct DropMessage {
    std::string path; // the file, as found at open
    std::string uidl;
    uint64_t size = 0; // octets with CRLF line ends
    bool deleted = false;
};

// Errors: Errc::cantcreat when another POP3 session holds the lock.
class Maildrop {
  public:
    static Result<Maildrop> open(const std::string& root);
    std::vector<DropMessage>& messages() { return messages_; }
    // Unlink the messages marked deleted; returns how many went.
    Result<int> commit();

  private:
    Maildrop(std::string root, Fd lock) : root_(std::move(root)), lock_(std::move(lock)) {}
    std::string root_;
    Fd lock_;
    std::vector<DropMessage> messages_;
};

// The size of `file` as CRLF text: bytes plus one per LF not after a CR.
Result<uint64_t> crlf_size(const std::string& path);

// Message text as POP3 sends it: LF -> CRLF (CRLF kept), a leading '.'
// doubled, at most `body_lines` lines after the header (-1: all), ending
// with CRLF. Incremental: feed() chunks of the file, then finish().
class Pop3Encoder {
  public:
    explicit Pop3Encoder(long body_lines = -1) : body_lines_(body_lines) {}
    void feed(std::string_view in, std::string& out);
    void finish(std::string& out); // the final CRLF if the file lacked one
    bool full() const { return done_; } // TOP's limit reached

  private:
    long body_lines_;
    bool bol_ = true, line_empty_ = true, in_body_ = false, last_cr_ = false, done_ = false;
};

} // namespace mail::pop3
