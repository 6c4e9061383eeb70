#include "data.hpp"

namespace mail::smtp {

void DataReader::emit(std::string& out, char c) {
    size_++;
    if (size_ > max_size_) fail(Problem::too_big);
    if (problem_ == Problem::none) out += c;
}

// `real`: a CRLF, after which a "." may end the data. A normalised bare
// line end starts a line that can never be the terminator.
void DataReader::line_end(std::string& out, bool real) {
    emit(out, '\n');
    line_ = 0;
    state_ = real ? State::bol : State::text;
}

void DataReader::bare(std::string& out) {
    if (normalize_) line_end(out, false);
    else {
        fail(Problem::bare_line_end);
        state_ = State::text;
    }
}

void DataReader::text(std::string& out, char c) {
    if (c == '\r') {
        state_ = State::cr;
        return;
    }
    if (c == '\n') return bare(out);
    if (++line_ > max_line_) fail(Problem::line_too_long);
    emit(out, c);
    state_ = State::text;
}

size_t DataReader::feed(std::string_view in, std::string& out) {
    size_t i = 0;
    while (i < in.size() && state_ != State::done) {
        char c = in[i++];
        switch (state_) {
        case State::bol:
            if (c == '.') state_ = State::dot;
            else text(out, c);
            break;
        case State::dot: // a leading dot is removed (RFC 5321 4.5.2)
            if (c == '\r') state_ = State::dot_cr;
            else text(out, c);
            break;
        case State::dot_cr:
            if (c == '\n') {
                state_ = State::done;
                break;
            }
            bare(out); // ".<CR>x": a bare CR
            i--;       // then x again, in the state bare() left
            break;
        case State::cr:
            if (c == '\n') {
                line_end(out, true);
                break;
            }
            bare(out);
            i--;
            break;
        case State::text:
            text(out, c);
            break;
        case State::done:
            break;
        }
    }
    return i;
}

} // namespace mail::smtp
