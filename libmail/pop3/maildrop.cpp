#include "maildrop.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/log.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace mail::pop3 {

Result<Maildrop> Maildrop::open(const std::string& root) {
    if (maildir::folder_kind(root) == maildir::FolderKind::refused)
        return make_error(Errc::tempfail, "temporary local problem", root + " holds a symbolic link: refused");
    std::string lock_path = root + "/pop3.lock";
    Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!lock) return sys_error("open", lock_path);
    if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        return make_error(Errc::cantcreat, "mailbox in use by another POP3 session");
    Maildrop drop(root, std::move(lock));
    auto idx = MailboxIndex::open(root);
    if (!idx) return idx.error();
    auto scanned = idx->scan("INBOX", false);
    if (!scanned) return scanned.error();
    auto list = idx->messages("INBOX");
    if (!list) return list.error();
    for (auto& m : *list) {
        DropMessage d;
        d.path = root + "/" + m.subdir + "/" + m.filename();
        d.uidl = m.base;
        auto size = crlf_size(d.path);
        if (!size && size.error().code == Errc::noinput) { // in cur/ without ":2," (moved by hand)
            d.path = root + "/" + m.subdir + "/" + m.base;
            size = crlf_size(d.path);
        }
        if (!size) {
            if (size.error().code == Errc::noinput) continue; // moved or gone since the scan
            return size.error();
        }
        d.size = *size;
        drop.messages_.push_back(std::move(d));
    }
    return drop;
}

Result<int> Maildrop::commit() {
    int n = 0;
    for (auto& m : messages_) {
        if (!m.deleted) continue;
        if (::unlink(m.path.c_str()) == 0) n++;
        else if (errno != ENOENT) return sys_error("unlink", m.path);
    }
    if (n > 0) {
        // Tell the index now, so that IMAP sessions see the expunge at once.
        auto idx = MailboxIndex::open(root_);
        if (idx) (void)idx->scan("INBOX", true);
    }
    return n;
}

Result<uint64_t> crlf_size(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        Error e = sys_error("open", path);
        if (errno == ENOENT) e.code = Errc::noinput;
        return e;
    }
    char buf[65536];
    uint64_t size = 0;
    char prev = 0;
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' && prev != '\r') size++;
            prev = buf[i];
        }
        size += static_cast<uint64_t>(n);
    }
    if (n < 0) return sys_error("read", path);
    if (size > 0 && prev != '\n') size += 2; // RETR ends the last line
    return size;
}

// Line by line (memchr for the LF), appending whole runs of text.
void Pop3Encoder::feed(std::string_view in, std::string& out) {
    size_t i = 0;
    while (i < in.size() && !done_) {
        if (bol_ && in[i] == '.') out += '.'; // byte-stuffing (RFC 1939 3)
        size_t nl = in.find('\n', i);
        std::string_view text = in.substr(i, (nl == std::string_view::npos ? in.size() : nl) - i);
        if (!text.empty()) {
            out.append(text);
            if (line_empty_ && text.find_first_not_of('\r') != std::string_view::npos)
                line_empty_ = false;
            last_cr_ = text.back() == '\r';
            bol_ = false;
        }
        if (nl == std::string_view::npos) return;
        if (!last_cr_) out += '\r';
        out += '\n';
        if (!in_body_) {
            in_body_ = line_empty_; // the empty line ends the header
            if (in_body_ && body_lines_ == 0) done_ = true;
        } else if (body_lines_ > 0 && --body_lines_ == 0) {
            done_ = true;
        }
        bol_ = line_empty_ = true;
        last_cr_ = false;
        i = nl + 1;
    }
}

void Pop3Encoder::finish(std::string& out) {
    if (!bol_ && !done_) out += "\r\n";
}

} // namespace mail::pop3
