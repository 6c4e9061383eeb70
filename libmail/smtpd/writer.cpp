#include "writer.hpp"

namespace mail::smtp {

void MessageWriter::check(Status st) {
    if (!st && !error_) error_ = st.error();
}

bool MessageWriter::add(std::string_view text) {
    if (error_ || too_big_) return false;
    if (started_) {
        if (hold_) held_.append(text);
        else check(file_.write(text));
        return !error_;
    }
    size_t old = head_.size();
    head_.append(text);
    // The header ends at the first empty line (or at once if the message
    // starts with one).
    size_t from = old > 0 ? old - 1 : 0;
    size_t end = head_.starts_with("\n") ? 0 : head_.find("\n\n", from);
    if (end != std::string::npos) {
        in_body_ = true;
        return true;
    }
    if (head_.size() > max_header_) too_big_ = true;
    return !too_big_;
}

bool MessageWriter::start(std::string_view prefix) {
    if (hold_) {
        held_.assign(prefix).append(head_);
    } else {
        check(file_.write(prefix));
        check(file_.write(head_));
    }
    head_.clear();
    head_.shrink_to_fit();
    started_ = true;
    return !error_;
}

Status MessageWriter::commit(const std::string& final_path,
                             const std::function<std::string(std::string)>& transform) {
    if (hold_ && !error_) check(file_.write(transform ? transform(std::move(held_)) : held_));
    if (error_) return *error_;
    return file_.commit(final_path);
}

} // namespace mail::smtp
