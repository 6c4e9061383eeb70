#include "log.hpp"

#include <cstdio>
#include <string>
#include <unistd.h>

namespace mail::log {
namespace {
std::string program = "facteur";
Level min_level = Level::info;
} // namespace

void set_program(std::string_view name) { program = name; }
void set_min_level(Level level) { min_level = level; }

void write(Level level, std::string_view tag, std::string_view text) {
    if (static_cast<int>(level) > static_cast<int>(min_level)) return;
    std::string line = fmt::format("<{}>{}[{}]: {}: {}\n", static_cast<int>(level), program,
                                   getpid(), tag, text);
    // One write(2) per line so that concurrent processes do not interleave.
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    (void)n;
}

void error(std::string_view tag, const Error& e) {
    if (e.detail.empty())
        write(Level::err, tag, e.user);
    else
        write(Level::err, tag, e.user + " (" + e.detail + ")");
}

} // namespace mail::log
