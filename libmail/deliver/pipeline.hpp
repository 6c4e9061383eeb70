// Local delivery as a fixed sequence of steps. For each recipient:
//
//   resolve   the address -> mailboxes (aliases, groups, catch-all, +tag)
//             and outside addresses, which are forwarded (queued) at once
//   (verdicts from the MX: SPF/DKIM/DMARC, spam; recorded by mail-smtpd)
// then for each mailbox, in this order:
//   loop      already delivered here (Delivered-To) or to this mailbox
//             in this run: refused or skipped
//   folder    the +tag folder when it exists, else INBOX
//   (filters: Sieve, spam to Junk)
//   mailbox   created when listed but missing; its index opened
//   quota     over quota: 4.2.2, kept for a retry
//   store     durably into each chosen folder
// and once every recipient's copies are safe (mail-smtpd answers then):
//   index     the stored files into the mailbox's index
//   autoreply the out-of-office reply (queued)
//   dmarc-report  a DMARC aggregate report about one of our domains: kept
//             for `mail-admin dmarc report`
//   (business steps: calendar, documents, CRM events)
//
// A step before the store may choose folders and flags, add header lines,
// discard, or end the delivery with a status (refusal or temporary
// failure). The store's failure is temporary. A step after the store may
// queue messages and record events, and its trouble is logged: it never
// fails a delivery that is already safe. A new feature is one new step in
// default_steps() and a config section, not a change to the others.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.hpp"
#include "base/result.hpp"
#include "directory/directory.hpp"
#include "directory/resolve.hpp"
#include "store/index.hpp"

namespace mail {

// The outcome for one recipient: a Result (its error code is the exit
// status class: tempfail, nouser, data ...) and the enhanced status code
// (RFC 3463) to report, with a line of text.
struct RecipientStatus {
    std::string recipient;
    Status result;
    std::string dsn; // "2.0.0", "4.2.2", "5.1.1"
    std::string text;
    bool ok() const { return result.ok(); }
    bool temporary() const { return !result && result.error().code == Errc::tempfail; }
    Errc code() const { return result ? Errc::tempfail : result.error().code; }
};
RecipientStatus delivered(const std::string& rcpt, std::string text = "delivered");
RecipientStatus refused(const std::string& rcpt, Errc code, std::string dsn, std::string text);
// A local problem (logged with its detail): 4.3.0, try again later.
RecipientStatus temporary(const std::string& rcpt, const Error& e);

// What is known of the message before any mailbox step runs.
struct MessageFacts {
    std::string_view message; // LF line ends
    std::string sender;       // envelope sender, "" for the null sender
    CachedFields fields;      // for the index, parsed once
    std::vector<std::string> delivered_to; // addresses of its Delivered-To fields
    int hops = 0;
    // Our MX found the From forged and the domain asks for quarantine
    // (DMARC, in our Authentication-Results field): into Junk, no auto-reply.
    bool quarantine = false;
};

// A copy the store wrote: its folder ("" = INBOX), file name, size, and
// the UID the index gave it (0 until indexed, or when that failed).
struct StoredFile {
    std::string folder, name;
    int64_t size = 0;
    int64_t uid = 0;
};

// One message on its way into one mailbox: what the steps read and decide.
struct MailboxDelivery {
    const MessageFacts& facts;
    const LocalTarget& target;
    std::string mailbox; // "alice@example.com"
    std::string root;    // its Maildir++
    int64_t now = 0;
    MailboxIndex* index = nullptr; // once the mailbox step ran
    // Decided before the store:
    std::vector<std::string> folders{""}; // "" = INBOX
    std::string flags{};                   // Maildir letters for the copies
    std::string header{};                  // lines added above the message
    bool discard = false;
    // Done by the store: each file written.
    std::vector<StoredFile> stored{};
};

class DeliveryStep {
  public:
    enum class When { before_store, store, after_store };
    virtual ~DeliveryStep() = default;
    virtual std::string_view name() const = 0;
    virtual When when() const = 0;
    // nullopt: go on. Before the store, a status ends this mailbox's
    // delivery with it; after the store it is only logged.
    virtual std::optional<RecipientStatus> run(MailboxDelivery& d) = 0;
};

// Mailbox indexes kept open across messages (the queue runner delivers
// many): a few at most.
class IndexCache {
  public:
    Result<MailboxIndex*> open(const std::string& root);

  private:
    std::map<std::string, MailboxIndex> open_;
};

// The steps of today, in their order (see the top of this file).
// `done` is the list of mailboxes given the current message already.
std::vector<std::unique_ptr<DeliveryStep>> default_steps(const Config& cfg, Directory& dir, IndexCache& indexes,
                                                         std::vector<std::string>& done);

// The steps of one mailbox up to the store: the status of its delivery.
RecipientStatus store_steps(const std::vector<std::unique_ptr<DeliveryStep>>& steps, MailboxDelivery& d);
// Then the steps after the store (their trouble only logged).
void after_store_steps(const std::vector<std::unique_ptr<DeliveryStep>>& steps, MailboxDelivery& d);

} // namespace mail
