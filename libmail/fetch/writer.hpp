// The aggregator's side of the local mailbox.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/files.hpp"
#include "directory/directory.hpp"
#include "fetch/state.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace mail::fetch {

// The part of a fetched message kept in memory for its header fields.
constexpr size_t max_captured_header = 256 * 1024;
// The store keeps LF line ends: the CRLF form a server sends may exceed
// the quota by its CRs before the stored message does.
constexpr uint64_t quota_slack = 1 << 20;

// Fetched messages into one local mailbox: each file streamed to tmp/
// with CRLF turned into LF, synced and renamed to new/ (or cur/ with
// flags) under a name tagged with its origin; flush() then syncs the
// directories and indexes the batch. Auto-replies go out after the flush,
// only for mail newer than the first sync.
class LocalWriter {
  public:
    LocalWriter(const Config& cfg, Directory& dir, const FetchAccount& a) : cfg_(cfg), dir_(dir), a_(a) {}

    Status open();
    Status use_folder(const std::string& folder);
    Status begin(int64_t size, std::string tag);
    Status data(std::string_view piece);

    struct Staged {
        std::string message_id;
        int64_t size = 0;
    };

    // The message is complete: sync it and rename it into place. It counts
    // as delivered after flush(). `flags`: IMAP flags of the remote copy;
    // `actions`: new mail that may get an auto-reply.
    Result<Staged> stage(const std::vector<std::string>& flags, int64_t internaldate, bool actions);

    // Everything staged becomes durable (directories synced), then indexed.
    Status flush();

    void abort() { file_.reset(); }
    // The tag of the message being written, when known only at its end.
    void retag(std::string tag) {
        tag_ = std::move(tag);
        if (file_) file_->set_tag(tag_);
    }

    // Files of this folder whose tag starts with `prefix`: tag -> path.
    std::map<std::string, std::string> tagged(const std::string& prefix);

  private:
    void autoreply_to(const std::string& header);
    Error too_big(uint64_t size, bool announced) const;

    const Config& cfg_;
    Directory& dir_;
    const FetchAccount& a_;
    Address mailbox_;
    std::string root_, host_, folder_, dir_path_, tag_, header_, out_;
    uint64_t quota_ = 0;
    int64_t used_ = 0;
    uint64_t received_ = 0; // of the message being written, as sent (CRLF)
    std::optional<MailboxIndex> index_;
    std::optional<maildir::MessageFile> file_;
    maildir::DirSync dirs_; // of the messages staged since the last flush()
    std::vector<NewFile> pending_;
    std::vector<std::string> replies_;
    CrlfFilter crlf_;
    bool header_done_ = false;
};

} // namespace mail::fetch
