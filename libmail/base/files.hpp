// File descriptors and the one durable write path used for every mail file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace mail {

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release();
    explicit operator bool() const { return fd_ >= 0; }
    // close(2) with its result checked: NFS and some disks report errors here.
    Status close(std::string_view path);

  private:
    int fd_ = -1;
};

// Test hook: FACTEUR_FAULT=<op> makes the named operation (write, fsync,
// rename, dirsync) fail with EIO (ENOSPC when FACTEUR_FAULT_ERRNO=ENOSPC),
// or a directory lookup fail as a busy database would (lookup), so tests
// can prove failures are temporary.
bool fault_injected(std::string_view op);

// The directory of the running program (/proc/self/exe), for its siblings.
std::string self_dir();

// A message on a Unix socket with a descriptor passed beside it
// (SCM_RIGHTS): a connection handed to a process (net/listen.cpp), a
// message file handed to the delivery service (deliver/request.hpp).
Status send_with_fd(int sock, std::string_view payload, int fd);
// The next such message into buf (up to size bytes) and its descriptor:
// the payload's length, or -1 at the end of the stream, on an error, for
// a message without a descriptor or one longer than `size`.
ssize_t receive_with_fd(int sock, char* buf, size_t size, Fd& fd);
int fault_errno();

Status write_all(int fd, std::string_view data, std::string_view path);
Status fsync_dir(const std::string& dir);
// mkdir -p with the given mode; existing directories are fine.
Status make_dirs(const std::string& path, unsigned mode = 0700);
// A growable byte buffer on malloc/realloc. Large blocks grow by mremap,
// without a copy, so reading a message of n bytes peaks near n bytes of
// memory where a doubling std::string needs up to 2n.
class ByteBuffer {
  public:
    ByteBuffer() = default;
    ByteBuffer(ByteBuffer&& o) noexcept;
    ByteBuffer& operator=(ByteBuffer&& o) noexcept;
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;
    ~ByteBuffer();
    char* data() { return data_; }
    size_t size() const { return size_; }
    std::string_view view() const { return {data_, size_}; }
    void shrink(size_t n) { size_ = n < size_ ? n : size_; }
    // Make room for `n` more bytes after size(); false when out of memory.
    bool reserve_more(size_t n);
    void grow(size_t n) { size_ += n; } // after writing n bytes past size()

  private:
    char* data_ = nullptr;
    size_t size_ = 0, capacity_ = 0;
};

// Read `fd` to its end, but at most limit + 1 bytes, so that a caller can
// tell "over the limit" from "exactly at it". `name` is for errors.
Result<ByteBuffer> read_fd(int fd, size_t limit, std::string_view name);
// A whole file; an error when it is larger than `max_size`.
Result<std::string> read_file(const std::string& path, size_t max_size);
bool exists(const std::string& path);

// Write `parts` (concatenated) to `tmp_path` with O_EXCL|O_NOFOLLOW, fsync,
// close, rename to `final_path` and fsync the final directory. This is the
// commit point of every delivery; on any failure the temporary is unlinked
// and a temporary error returned. `final_path` must not exist: rename(2)
// would replace it, so callers use unique names.
Status durable_write(const std::string& tmp_path, const std::string& final_path,
                     const std::vector<std::string_view>& parts);

// The same commit path, for a file written piece by piece (a message
// arriving over SMTP): create() opens `tmp_path` with O_EXCL|O_NOFOLLOW,
// write() buffers, commit() writes out, fsyncs, closes, renames and syncs
// the directory. A file never committed is unlinked by the destructor.
class DurableFile {
  public:
    // `mode` whatever the umask (0640: the store's group may read it).
    static Result<DurableFile> create(std::string tmp_path, unsigned mode = 0600);
    DurableFile(DurableFile&& o) noexcept;
    DurableFile& operator=(DurableFile&&) = delete;
    ~DurableFile();
    Status write(std::string_view data);
    uint64_t size() const { return written_ + buf_.size(); }
    // The modification time the file gets before it is synced (a Maildir
    // message's internal date); 0 leaves it.
    void set_mtime(int64_t seconds) { mtime_ = seconds; }
    // With sync_dir = false the caller syncs the directory itself (once
    // for several files) before it counts them as delivered.
    Status commit(const std::string& final_path, bool sync_dir = true);
    // Like commit() without the directory sync, but never replacing a file
    // already at `final_path`: Errc::cantcreat when one is there, and the
    // file stays synced in tmp/ for another try under another name.
    Status commit_new(const std::string& final_path);

  private:
    DurableFile(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    Status flush();
    Status sync(); // written out, fsynced and closed (once)
    Status place(const std::string& final_path, bool replace);
    Fd fd_;
    std::string path_, buf_;
    uint64_t written_ = 0;
    int64_t mtime_ = 0;
    bool failed_ = false, synced_ = false, placed_ = false;
};

std::string dir_of(const std::string& path);

} // namespace mail
