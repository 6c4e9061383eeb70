#include "files.hpp"

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <utility>
#include <fcntl.h>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mail {

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

Status Fd::close(std::string_view path) {
    int fd = release();
    if (fd >= 0 && ::close(fd) != 0) return sys_error("close", path);
    return {};
}

bool fault_injected(std::string_view op) {
    const char* f = std::getenv("FACTEUR_FAULT");
    if (!f) return false;
    std::string_view list(f);
    while (!list.empty()) {
        size_t comma = list.find(',');
        if (list.substr(0, comma) == op) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

int fault_errno() {
    const char* e = std::getenv("FACTEUR_FAULT_ERRNO");
    return e && std::string_view(e) == "ENOSPC" ? ENOSPC : EIO;
}

Status write_all(int fd, std::string_view data, std::string_view path) {
    if (fault_injected("write")) return sys_error("write", path, fault_errno());
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("write", path);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Status fsync_dir(const std::string& dir) {
    if (fault_injected("dirsync")) return sys_error("fsync", dir, fault_errno());
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("open", dir);
    if (::fsync(fd.get()) != 0) return sys_error("fsync", dir);
    return fd.close(dir);
}

Status make_dirs(const std::string& path, unsigned mode) {
    if (path.empty()) return {};
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return {};
        return make_error(Errc::cantcreat, "not a directory: " + path);
    }
    size_t slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0) MAIL_TRY(make_dirs(path.substr(0, slash), mode));
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_error("mkdir", path);
    return {};
}

ByteBuffer::ByteBuffer(ByteBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
      capacity_(std::exchange(o.capacity_, 0)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& o) noexcept {
    if (this != &o) {
        std::free(data_);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
}

ByteBuffer::~ByteBuffer() { std::free(data_); }

bool ByteBuffer::reserve_more(size_t n) {
    if (capacity_ - size_ >= n) return true;
    size_t want = std::max(size_ + n, capacity_ * 2);
    auto* p = static_cast<char*>(std::realloc(data_, want));
    if (!p) return false;
    data_ = p;
    capacity_ = want;
    return true;
}

Result<ByteBuffer> read_fd(int fd, size_t limit, std::string_view name) {
    constexpr size_t chunk = 64 * 1024;
    ByteBuffer buf;
    while (buf.size() <= limit) {
        size_t want = std::min(chunk, limit + 1 - buf.size());
        if (!buf.reserve_more(want)) return sys_error("read", name, ENOMEM);
        ssize_t n = ::read(fd, buf.data() + buf.size(), want);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("read", name);
        }
        if (n == 0) break;
        buf.grow(static_cast<size_t>(n));
    }
    return buf;
}

Result<std::string> read_file(const std::string& path, size_t max_size) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        Error e = sys_error("open", path);
        if (errno == ENOENT) e.code = Errc::noinput;
        return e;
    }
    auto buf = read_fd(fd.get(), max_size, path);
    if (!buf) return buf.error();
    if (buf->size() > max_size) return make_error(Errc::data, "file too large: " + path);
    return std::string(buf->view());
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

std::string dir_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

Result<DurableFile> DurableFile::create(std::string tmp_path, unsigned mode) {
    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
        Error e = sys_error("create", tmp_path);
        if (errno == EEXIST) e.code = Errc::cantcreat;
        return e;
    }
    if (mode != 0600 && ::fchmod(fd.get(), mode) != 0) {
        Error e = sys_error("fchmod", tmp_path);
        ::unlink(tmp_path.c_str());
        return e;
    }
    return DurableFile(std::move(fd), std::move(tmp_path));
}

DurableFile::DurableFile(DurableFile&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::move(o.path_)), buf_(std::move(o.buf_)), written_(o.written_),
      mtime_(o.mtime_), failed_(o.failed_), synced_(o.synced_), placed_(o.placed_) {
    o.placed_ = true; // the moved-from object owns no file
}

DurableFile::~DurableFile() {
    if (!placed_ && !path_.empty()) ::unlink(path_.c_str());
}

Status DurableFile::flush() {
    if (buf_.empty() && !failed_) return {};
    Status st = failed_ ? sys_error("write", path_, EIO) : write_all(fd_.get(), buf_, path_);
    failed_ = !st;
    written_ += buf_.size();
    buf_.clear();
    return st;
}

Status DurableFile::write(std::string_view data) {
    constexpr size_t flush_at = 64 * 1024;
    if (failed_) return sys_error("write", path_, EIO);
    if (data.size() < flush_at) {
        buf_.append(data);
        return buf_.size() >= flush_at ? flush() : Status{};
    }
    MAIL_TRY(flush()); // large pieces go straight to the file, uncopied
    Status st = write_all(fd_.get(), data, path_);
    failed_ = !st;
    written_ += data.size();
    return st;
}

Status DurableFile::sync() {
    if (synced_) return {};
    MAIL_TRY(flush());
    if (mtime_ > 0) {
        timespec times[2] = {{mtime_, 0}, {mtime_, 0}};
        if (::futimens(fd_.get(), times) != 0) return sys_error("futimens", path_);
    }
    if (fault_injected("fsync") || ::fsync(fd_.get()) != 0)
        return sys_error("fsync", path_, fault_injected("fsync") ? fault_errno() : errno);
    Status closed = Fd(fd_.release()).close(path_);
    if (!closed) return closed;
    synced_ = true;
    return {};
}

Status DurableFile::place(const std::string& final_path, bool replace) {
    int rc = fault_injected("rename") ? (errno = fault_errno(), -1)
             : replace ? ::rename(path_.c_str(), final_path.c_str())
                       : ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && !replace && errno == EINVAL) { // a file system without RENAME_NOREPLACE
        rc = ::link(path_.c_str(), final_path.c_str());
        if (rc == 0) ::unlink(path_.c_str());
    }
    if (rc != 0) {
        Error e = sys_error("rename", final_path);
        if (errno == EEXIST && !replace) e.code = Errc::cantcreat;
        return e;
    }
    placed_ = true;
    return {};
}

Status DurableFile::commit(const std::string& final_path, bool sync_dir) {
    MAIL_TRY(sync());
    MAIL_TRY(place(final_path, true));
    if (!sync_dir) return {};
    Status synced = fsync_dir(dir_of(final_path));
    if (!synced) {
        // Not durable, so not accepted: take the file back out.
        ::unlink(final_path.c_str());
        return synced;
    }
    return {};
}

Status DurableFile::commit_new(const std::string& final_path) {
    MAIL_TRY(sync());
    return place(final_path, false);
}

Status durable_write(const std::string& tmp_path, const std::string& final_path,
                     const std::vector<std::string_view>& parts) {
    auto file = DurableFile::create(tmp_path);
    if (!file) return file.error();
    for (auto part : parts) MAIL_TRY(file->write(part));
    return file->commit(final_path);
}

std::string self_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string path(buf, static_cast<size_t>(n));
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

Status send_with_fd(int sock, std::string_view payload, int fd) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{const_cast<char*>(payload.data()), payload.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0) return sys_error("send a descriptor on", "a Unix socket");
    return {};
}

ssize_t receive_with_fd(int sock, char* buf, size_t size, Fd& fd) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{buf, size};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    ssize_t n;
    while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
    cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&m) : nullptr;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int received;
        std::memcpy(&received, CMSG_DATA(c), sizeof(int));
        fd = Fd(received);
    }
    return fd && !(m.msg_flags & MSG_TRUNC) ? n : -1;
}

} // namespace mail
