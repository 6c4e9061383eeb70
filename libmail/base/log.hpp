// Logging to stderr with syslog priority prefixes ("<3>"), which journald
// and most supervisors understand. Each message starts with a short stable
// tag ("deliver.ok", "store.fsync") that can be grepped for.
#pragma once

#include <fmt/format.h>
#include <string_view>

#include "result.hpp"

namespace mail::log {

enum class Level { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_program(std::string_view name);
void set_min_level(Level level);
void write(Level level, std::string_view tag, std::string_view text);

template <typename... A> void err(std::string_view tag, fmt::format_string<A...> f, A&&... a) {
    write(Level::err, tag, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void warn(std::string_view tag, fmt::format_string<A...> f, A&&... a) {
    write(Level::warning, tag, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void info(std::string_view tag, fmt::format_string<A...> f, A&&... a) {
    write(Level::info, tag, fmt::format(f, std::forward<A>(a)...));
}

// Log an Error with both its user text and its detail.
void error(std::string_view tag, const Error& e);

} // namespace mail::log
