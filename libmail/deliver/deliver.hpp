// Local delivery: one message to several recipients, each delivered or
// refused on its own, through the steps of pipeline.hpp. Used by
// mail-deliver, mail-smtpd, the queue runner and the aggregator. A
// recipient counts as delivered only after its file and directory are
// synced; the index update after that is best effort (the next scan
// indexes a file the index missed).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "deliver/pipeline.hpp"
#include "directory/directory.hpp"

namespace mail {

class LocalDelivery {
  public:
    LocalDelivery(const Config& cfg, Directory& dir);
    ~LocalDelivery() { finish(); }
    LocalDelivery(const LocalDelivery&) = delete;
    // `message` uses LF line ends (the Maildir convention). `sender` is the
    // envelope sender ("" for the null sender). One agent may deliver many
    // messages (the queue runner): it keeps mailbox indexes open between them.
    // Every recipient's copies are stored first; `safe` is then told the
    // results (mail-smtpd answers the client there), and only then come
    // the index updates and the other steps after the store.
    using Safe = std::function<void(const std::vector<RecipientStatus>&)>;
    std::vector<RecipientStatus> deliver(std::string_view message, const std::string& sender,
                                         const std::vector<std::string>& recipients, const Safe& safe = {});

    // Keep the steps after the store of up to `messages` messages (of
    // `bytes` in all) for finish(), which updates each index once for all
    // of them: mail-smtpd, for the messages of one connection.
    void keep_after_store(size_t messages, size_t bytes) { keep_messages_ = messages, keep_bytes_ = bytes; }
    bool pending() const { return !kept_.empty(); }
    // The kept steps after the store, now.
    void finish();

    // Put a step before the one named `before` (at the end when no step has
    // that name): a feature that is not on by default, or a test's step.
    void insert_step(std::string_view before, std::unique_ptr<DeliveryStep> step);

  private:
    RecipientStatus deliver_one(const MessageFacts& facts, const std::string& recipient);
    RecipientStatus deliver_postmaster(const MessageFacts& facts, const std::string& recipient);
    RecipientStatus deliver_address(const MessageFacts& facts, const std::string& recipient, const Address& a);
    // Queue the message for alias targets and group members outside our
    // domains (the envelope sender kept, as Postfix does without SRS).
    RecipientStatus forward(const MessageFacts& facts, const std::string& rcpt, const std::vector<std::string>& targets);
    const Config& cfg_;
    Directory& dir_;
    IndexCache indexes_;
    std::vector<std::string> done_; // mailboxes already given this message
    // A message delivered, and its mailbox deliveries, for the steps after
    // the store (its own copy of the text when kept for later).
    struct Delivered {
        std::string text;
        MessageFacts facts;
        std::deque<LocalTarget> targets;
        std::deque<MailboxDelivery> stored;
    };
    Delivered* current_ = nullptr;
    std::vector<std::unique_ptr<Delivered>> kept_;
    size_t keep_messages_ = 0, keep_bytes_ = 0, kept_bytes_ = 0;
    std::vector<std::unique_ptr<DeliveryStep>> steps_;
};

// Process exit code for a set of results (0, 75, or the first permanent code).
int exit_code(const std::vector<RecipientStatus>& results);

} // namespace mail
