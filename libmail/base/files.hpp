// File descriptors and the one durable write path used for every mail file.
#pragma once

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
// rename, dirsync) fail with EIO, so tests can prove failures are temporary.
bool fault_injected(std::string_view op);

Status write_all(int fd, std::string_view data, std::string_view path);
Status fsync_dir(const std::string& dir);
// mkdir -p with the given mode; existing directories are fine.
Status make_dirs(const std::string& path, unsigned mode = 0700);
Result<std::string> read_file(const std::string& path, size_t max_size);
bool exists(const std::string& path);

// Write `parts` (concatenated) to `tmp_path` with O_EXCL|O_NOFOLLOW, fsync,
// close, rename to `final_path` and fsync the final directory. This is the
// commit point of every delivery; on any failure the temporary is unlinked
// and a temporary error returned. `final_path` must not exist: rename(2)
// would replace it, so callers use unique names.
Status durable_write(const std::string& tmp_path, const std::string& final_path,
                     const std::vector<std::string_view>& parts);

std::string dir_of(const std::string& path);

} // namespace mail
