// The DATA phase as a byte-level state machine. The end of data is only
// CRLF "." CRLF (RFC 5321 4.1.1.4); a bare LF or bare CR is never a line
// end for that purpose, so a message cannot smuggle a second one past us
// (CVE-2023-51764 class). Bare line ends are either a problem (reply
// 5.5.2) or, when configured, normalised to line ends in the stored text.
// Output is the unstuffed message with LF line ends (the Maildir form).
// After a problem, input is still consumed up to the terminator so the
// session stays in step, but nothing more is output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mail::smtp {

class DataReader {
  public:
    enum class Problem { none, too_big, line_too_long, bare_line_end };
    DataReader(uint64_t max_size, size_t max_line, bool normalize_bare)
        : max_size_(max_size), max_line_(max_line), normalize_(normalize_bare) {}

    // Consume bytes of `in` up to and including the terminator; append the
    // message text to `out`. Returns the number of bytes consumed.
    size_t feed(std::string_view in, std::string& out);
    bool done() const { return state_ == State::done; }
    Problem problem() const { return problem_; }
    uint64_t size() const { return size_; } // message bytes (LF form), even past a problem

  private:
    enum class State { bol, dot, dot_cr, text, cr, done };
    void emit(std::string& out, char c);
    void line_end(std::string& out, bool real);
    void bare(std::string& out);
    void text(std::string& out, char c);
    void fail(Problem p) {
        if (problem_ == Problem::none) problem_ = p;
    }
    uint64_t max_size_;
    size_t max_line_;
    bool normalize_;
    State state_ = State::bol;
    Problem problem_ = Problem::none;
    uint64_t size_ = 0;
    size_t line_ = 0;
};

} // namespace mail::smtp
