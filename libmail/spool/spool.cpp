#include "spool.hpp"

#include "message/header.hpp"

#include <algorithm>
#include <charconv>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

namespace mail::queue {

namespace {

constexpr std::string_view state_magic = "facteur-state 1";

const char* status_name(const RcptState& r) {
    return r.status == RcptStatus::done     ? "done"
           : r.status == RcptStatus::failed ? "failed"
           : r.warned                       ? "delayed"
                                            : "pending";
}

} // namespace

std::string spool_dir(const Config& cfg) { return cfg.state_dir + "/queue"; }

std::string format_state(const std::vector<RcptState>& st) {
    std::string s = std::string(state_magic) + "\n";
    for (auto& r : st)
        s += "rcpt\t" + r.address + "\t" + status_name(r) + "\t" +
             std::to_string(r.attempts) + "\t" + std::to_string(r.next) + "\t" +
             (r.dsn.empty() ? "-" : r.dsn) + "\t" + single_line(r.text) + "\n";
    return s;
}

Result<std::vector<RcptState>> parse_state(std::string_view text) {
    if (!text.starts_with(state_magic)) return make_error(Errc::data, "bad queue state file");
    std::vector<RcptState> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.starts_with("rcpt\t")) continue;
        std::vector<std::string_view> f;
        for (size_t start = 0;;) {
            size_t tab = line.find('\t', start);
            f.push_back(line.substr(start, tab - start));
            if (tab == std::string_view::npos || f.size() == 7) break;
            start = tab + 1;
        }
        if (f.size() < 7) return make_error(Errc::data, "bad queue state line");
        RcptState r;
        r.address = f[1];
        r.status = f[2] == "done" ? RcptStatus::done
                   : f[2] == "failed" ? RcptStatus::failed : RcptStatus::pending;
        r.warned = f[2] == "delayed";
        std::from_chars(f[3].begin(), f[3].end(), r.attempts);
        std::from_chars(f[4].begin(), f[4].end(), r.next);
        r.dsn = f[5] == "-" ? "" : std::string(f[5]);
        r.text = f[6];
        out.push_back(std::move(r));
    }
    return out;
}

Result<Spool> Spool::open(const std::string& dir) {
    for (const char* sub : {"/tmp", "/mess", "/state"}) MAIL_TRY(make_dirs(dir + sub, 0700));
    struct stat st;
    if (::stat((dir + "/mess").c_str(), &st) != 0) return sys_error("stat", dir + "/mess");
    Spool s(dir);
    s.shared_ = st.st_uid != geteuid();
    return s;
}

std::string Spool::new_id() const {
    static unsigned counter = 0;
    timeval tv;
    gettimeofday(&tv, nullptr);
    return fmt::format("{}.{:06}.P{}Q{}", tv.tv_sec, tv.tv_usec, getpid(), ++counter);
}

Result<DurableFile> Spool::create(const Envelope& env) const {
    auto f = DurableFile::create(tmp_path(env.id), shared_ ? 0640 : 0600);
    if (!f) return f.error();
    MAIL_TRY(f->write(format_envelope(env)));
    return f;
}

Status Spool::add(Envelope& env, std::string_view message) const {
    if (env.id.empty()) env.id = new_id();
    auto f = create(env);
    if (!f) return f.error();
    MAIL_TRY(f->write(message));
    return commit(*f, env.id);
}

Result<std::vector<std::string>> Spool::ids() const {
    std::string d = dir_ + "/mess";
    DIR* dp = opendir(d.c_str());
    if (!dp) return sys_error("opendir", d);
    std::vector<std::string> out;
    while (dirent* e = readdir(dp))
        if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(dp);
    std::sort(out.begin(), out.end());
    return out;
}

Status Spool::each(const std::function<void(const Scanned&)>& fn) const {
    std::string d = dir_ + "/mess";
    DIR* dp = opendir(d.c_str());
    if (!dp) return sys_error("opendir", d);
    Fd states(::open((dir_ + "/state").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    while (dirent* e = readdir(dp)) {
        if (e->d_name[0] == '.') continue;
        Scanned s{e->d_name};
        struct stat st;
        if (states && fstatat(states.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            s.due = st.st_mtime;
            s.changed_ns = st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec;
        }
        fn(s);
    }
    closedir(dp);
    return {};
}

Result<Entry> Spool::load(const std::string& id, bool whole) const {
    Entry e;
    if (whole) {
        auto file = read_file(mess_path(id), static_cast<size_t>(1) << 31);
        if (!file) return file.error();
        e.file = std::move(*file);
    } else {
        Fd fd(::open(mess_path(id).c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return errno == ENOENT ? make_error(Errc::noinput, "no queue entry " + id)
                                        : sys_error("open", mess_path(id));
        e.file.resize(max_envelope);
        ssize_t n = ::pread(fd.get(), e.file.data(), e.file.size(), 0);
        if (n < 0) return sys_error("read", mess_path(id));
        e.file.resize(static_cast<size_t>(n));
    }
    auto env = parse_envelope(e.file, e.body);
    if (!env) return env.error();
    e.env = std::move(*env);
    auto st = state(id, e.env);
    if (!st) return st.error();
    e.state = std::move(*st);
    return e;
}

Result<Fd> Spool::lock(const std::string& id) const {
    Fd fd(::open(mess_path(id).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno == ENOENT ? make_error(Errc::noinput, "no queue entry " + id)
                                    : sys_error("open", mess_path(id));
    struct stat st;
    while (flock(fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) return sys_error("flock", mess_path(id));
    if (fstat(fd.get(), &st) != 0) return sys_error("fstat", mess_path(id));
    if (st.st_nlink == 0) return make_error(Errc::noinput, "no queue entry " + id); // removed meanwhile
    return fd;
}

Result<std::vector<RcptState>> Spool::state(const std::string& id, const Envelope& env) const {
    auto text = read_file(state_path(id), 16 << 20);
    if (!text && text.error().code == Errc::noinput) {
        std::vector<RcptState> fresh;
        for (auto& r : env.rcpts) {
            RcptState rs;
            rs.address = r.address;
            fresh.push_back(std::move(rs));
        }
        return fresh;
    }
    if (!text) return text.error();
    return parse_state(*text);
}

Status Spool::save_state(const std::string& id, const std::vector<RcptState>& s) const {
    std::string tmp = dir_ + "/tmp/" + id + ".state";
    ::unlink(tmp.c_str());
    MAIL_TRY(durable_write(tmp, state_path(id), {format_state(s)}));
    // The hint for scans (each()); if it is lost in a crash, the file's
    // own time is earlier: the entry is only looked at sooner.
    int64_t next = INT64_MAX;
    for (auto& r : s)
        if (r.status == RcptStatus::pending) next = std::min(next, r.next);
    if (next != INT64_MAX) {
        timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(next), 0}};
        (void)utimensat(AT_FDCWD, state_path(id).c_str(), times, 0);
    }
    return {};
}

void Spool::sweep_tmp(int64_t now, int64_t age) const {
    std::string d = dir_ + "/tmp";
    DIR* dp = opendir(d.c_str());
    if (!dp) return;
    while (dirent* e = readdir(dp)) {
        std::string p = d + "/" + e->d_name;
        struct stat st;
        if (e->d_name[0] != '.' && lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_mtime < now - age)
            ::unlink(p.c_str());
    }
    closedir(dp);
}

Status Spool::remove(const std::string& id) const {
    if (::unlink(state_path(id).c_str()) != 0 && errno != ENOENT)
        return sys_error("unlink", state_path(id));
    if (::unlink(mess_path(id).c_str()) != 0 && errno != ENOENT)
        return sys_error("unlink", mess_path(id));
    return {};
}

} // namespace mail::queue
