// Local delivery: one message to several recipients, each delivered or
// refused on its own. Used by mail-deliver now, by the queue and the
// aggregator later. A recipient counts as delivered only after its file
// and directory are synced; the index update after that is best effort
// (the next scan indexes a file the index missed).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "directory/directory.hpp"
#include "directory/resolve.hpp"
#include "store/index.hpp"

namespace mail {

struct RecipientStatus {
    std::string recipient;
    Errc code = Errc::tempfail; // meaningful when !ok
    std::string dsn;            // enhanced status code, "2.0.0"
    std::string text;
    bool ok() const { return dsn.starts_with("2."); }
    bool temporary() const { return dsn.starts_with("4."); }
};

class LocalDelivery {
  public:
    LocalDelivery(const Config& cfg, Directory& dir) : cfg_(cfg), dir_(dir) {}
    // `message` uses LF line ends (the Maildir convention). `sender` is the
    // envelope sender ("" for the null sender). One agent may deliver many
    // messages (the queue runner): it keeps mailbox indexes open between them.
    std::vector<RecipientStatus> deliver(std::string_view message, const std::string& sender,
                                         const std::vector<std::string>& recipients);

  private:
    RecipientStatus deliver_one(std::string_view message, const std::string& sender,
                                const std::string& recipient);
    RecipientStatus to_mailbox(std::string_view message, const std::string& sender,
                               const LocalTarget& target);
    // Queue the message for alias targets and group members outside our
    // domains (the envelope sender kept, as Postfix does without SRS).
    RecipientStatus forward(std::string_view message, const std::string& sender,
                            const std::string& rcpt, const std::vector<std::string>& targets);
    Result<MailboxIndex*> index(const std::string& root);
    const Config& cfg_;
    Directory& dir_;
    std::map<std::string, MailboxIndex> indexes_; // by mailbox root, a few at most
    std::vector<std::string> done_; // mailboxes already given this message
    std::vector<std::string> delivered_to_;
    CachedFields fields_; // for the index, parsed once per message
    int hops_ = 0;
};

// Process exit code for a set of results (0, 75, or the first permanent code).
int exit_code(const std::vector<RecipientStatus>& results);

} // namespace mail
