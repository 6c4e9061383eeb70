#include "writer.hpp"

namespace mail::smtp {

void MessageWriter::check(Status st) {
    if (!st && !error_) error_ = st.error();
}

bool MessageWriter::to_file() {
    auto f = open_();
    if (!f) return check(f.error()), false;
    file_.emplace(std::move(*f));
    check(file_->write(held_));
    held_.clear();
    held_.shrink_to_fit();
    return !error_;
}

bool MessageWriter::add(std::string_view text) {
    if (error_ || too_big_) return false;
    if (started_) {
        if (file_) check(file_->write(text));
        else if (held_.append(text); held_.size() > memory_limit_) to_file();
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
    held_.reserve(prefix.size() + head_.size());
    held_.assign(prefix).append(head_);
    head_.clear();
    head_.shrink_to_fit();
    started_ = true;
    if (held_.size() > memory_limit_) to_file();
    return !error_;
}

std::optional<std::string> MessageWriter::take(const std::function<std::string(std::string)>& transform) {
    if (file_ || error_) return std::nullopt;
    return transform ? transform(std::move(held_)) : std::move(held_);
}

Status MessageWriter::commit(const std::string& final_path, std::string_view text) {
    if (!file_ && !error_) {
        auto f = open_();
        if (!f) return f.error();
        file_.emplace(std::move(*f));
        check(file_->write(text));
    }
    if (error_) return *error_;
    return file_->commit(final_path);
}

} // namespace mail::smtp
