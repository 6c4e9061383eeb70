// IDLE (RFC 2177): changes of the selected folder pushed as they happen,
// woken by inotify on new/ and cur/ and by a poll every 2 s.
#include "session.hpp"

#include <ctime>
#include <malloc.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "message/address.hpp"

namespace mail::imap {

// ---- IDLE ---------------------------------------------------------------------------

void Session::cmd_idle(const Command& c) {
    io_.write("+ idling\r\n");
    if (!io_.flush()) return void(state_ = State::logout);
    Fd watch(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (watch && sel_)
        for (const char* sub : {"/new", "/cur"})
            inotify_add_watch(watch.get(), (sel_->dir + sub).c_str(),
                              IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB);
    constexpr int keepalive = 120; // seconds between "* OK still here"
    constexpr int max_idle = 60 * 60;
    net::set_deadline(max_idle + 60);
    time_t start = time(nullptr), last_write = start;
    for (bool first = true;; first = false) {
        if (sel_) {
            sync_selected(true);
            if (!io_.flush()) return void(state_ = State::logout);
        }
        if (first) { // what the commands before kept or freed goes back to the system while we wait
            if (index_) index_->release_memory();
            malloc_trim(0);
        }
        if (io_.wait_input(0)) break;
        pollfd p[2] = {{io_.input_fd(), POLLIN, 0}, {watch.get(), POLLIN, 0}};
        // Every 2 s at least: changes that touch only the index (another
        // session's keywords) wake no inotify watch.
        int r = ::poll(p, watch ? 2 : 1, 2000);
        if (r < 0 && errno != EINTR) return void(state_ = State::logout);
        if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) break;
        if (r > 0 && watch && (p[1].revents & POLLIN)) {
            char buf[4096];
            while (::read(watch.get(), buf, sizeof buf) > 0) {}
        }
        time_t now = time(nullptr);
        if (now - start > max_idle) {
            io_.write("* BYE idle for an hour\r\n");
            state_ = State::logout;
            return;
        }
        if (now - last_write >= keepalive) {
            io_.write("* OK still here\r\n");
            last_write = now;
        }
    }
    std::string line;
    if (io_.read_line(line, max_command) != net::Stream::Line::ok) return void(state_ = State::logout);
    if (!iequals(line, "DONE")) return bad(c, "IDLE ended without DONE");
    ok(c, "IDLE terminated");
}

} // namespace mail::imap
