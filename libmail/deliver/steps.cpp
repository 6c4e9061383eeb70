// The steps of local delivery (pipeline.hpp), and the loop that runs them.
#include "pipeline.hpp"

#include <algorithm>
#include <sys/stat.h>

#include "base/log.hpp"
#include "deliver/autoreply.hpp"
#include "reports/feedback.hpp"
#include "reports/log.hpp"
#include "store/maildir.hpp"

namespace mail {

RecipientStatus delivered(const std::string& rcpt, std::string text) {
    return RecipientStatus{rcpt, {}, "2.0.0", std::move(text)};
}

RecipientStatus refused(const std::string& rcpt, Errc code, std::string dsn, std::string text) {
    return RecipientStatus{rcpt, make_error(code, text), std::move(dsn), text};
}

RecipientStatus temporary(const std::string& rcpt, const Error& e) {
    log::error("deliver.tempfail", e);
    return RecipientStatus{rcpt, e, "4.3.0", e.user};
}

Result<MailboxIndex*> IndexCache::open(const std::string& root) {
    constexpr size_t max_open = 32;
    auto it = open_.find(root);
    if (it != open_.end()) return &it->second;
    auto idx = MailboxIndex::open(root);
    if (!idx) return idx.error();
    if (open_.size() >= max_open) open_.clear();
    return &open_.emplace(root, std::move(*idx)).first->second;
}

namespace {

using When = DeliveryStep::When;

bool contains_ci(const std::vector<std::string>& list, const std::string& s) {
    return std::any_of(list.begin(), list.end(), [&](auto& x) { return iequals(x, s); });
}

// A message that already passed through this mailbox is a loop; one this
// run gave it already (an alias and a group both naming it) is done.
class LoopStep : public DeliveryStep {
  public:
    explicit LoopStep(const std::vector<std::string>& done) : done_(done) {}
    std::string_view name() const override { return "loop"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        if (contains_ci(d.facts.delivered_to, d.mailbox))
            return refused(d.mailbox, Errc::data, "5.4.6", "mail loop: already delivered to " + d.mailbox);
        if (contains_ci(done_, d.mailbox)) return delivered(d.mailbox);
        return std::nullopt;
    }

  private:
    const std::vector<std::string>& done_;
};

// user+tag@domain goes into folder "tag" when that folder exists.
class TagFolderStep : public DeliveryStep {
  public:
    std::string_view name() const override { return "folder"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        const std::string& tag = d.target.folder;
        if (tag.empty() || !maildir::valid_folder_name(tag) || maildir::is_inbox(tag)) return std::nullopt;
        struct stat st;
        if (stat((maildir::folder_path(d.root, tag) + "/new").c_str(), &st) == 0) d.folders = {tag};
        return std::nullopt;
    }
};

// A message our MX quarantined (DMARC) goes into Junk, made if missing.
class JunkStep : public DeliveryStep {
  public:
    std::string_view name() const override { return "junk"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        if (!d.facts.quarantine) return std::nullopt;
        if (Status made = maildir::create_folder(d.root, "Junk"); !made) return temporary(d.mailbox, made.error());
        d.folders = {"Junk"};
        log::info("deliver.junk", "{}: DMARC quarantine, into Junk", d.mailbox);
        return std::nullopt;
    }
};

// A mailbox listed in the directory but never created (or removed) is
// made now; its index is opened for the steps after.
class MailboxStep : public DeliveryStep {
  public:
    explicit MailboxStep(IndexCache& indexes) : indexes_(indexes) {}
    std::string_view name() const override { return "mailbox"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        if (struct stat st; stat((d.root + "/cur").c_str(), &st) != 0)
            if (Status made = maildir::create_mailbox(d.root); !made) return temporary(d.mailbox, made.error());
        auto opened = indexes_.open(d.root);
        if (!opened) return temporary(d.mailbox, opened.error());
        d.index = *opened;
        return std::nullopt;
    }

  private:
    IndexCache& indexes_;
};

int64_t stored_size(const MailboxDelivery& d, std::string_view head) {
    return static_cast<int64_t>(head.size() + d.header.size() + d.facts.message.size());
}

std::string trace_header(const MailboxDelivery& d) {
    return "Return-Path: <" + d.facts.sender + ">\nDelivered-To: " + d.mailbox + "\n";
}

// Over quota: temporary (4.2.2), so that the sender's server retries.
class QuotaStep : public DeliveryStep {
  public:
    explicit QuotaStep(const Config& cfg) : cfg_(cfg) {}
    std::string_view name() const override { return "quota"; }
    When when() const override { return When::before_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        uint64_t quota = d.target.quota ? d.target.quota : cfg_.delivery.default_quota;
        if (!quota) return std::nullopt;
        auto used = d.index->total_size();
        if (!used) return temporary(d.mailbox, used.error());
        int64_t copies = static_cast<int64_t>(d.folders.size());
        if (static_cast<uint64_t>(*used + copies * stored_size(d, trace_header(d))) > quota)
            return refused(d.mailbox, Errc::tempfail, "4.2.2", "mailbox full: " + d.mailbox);
        return std::nullopt;
    }

  private:
    const Config& cfg_;
};

// Durable in every chosen folder (file, fsync, rename, directory sync).
class StoreStep : public DeliveryStep {
  public:
    StoreStep(const Config& cfg, std::vector<std::string>& done) : cfg_(cfg), done_(done) {}
    std::string_view name() const override { return "store"; }
    When when() const override { return When::store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        std::string head = trace_header(d) + d.header;
        int64_t size = static_cast<int64_t>(head.size() + d.facts.message.size());
        for (auto& folder : d.folders) {
            auto name = maildir::deliver(maildir::folder_path(d.root, folder), host_name(cfg_),
                                         {head, d.facts.message}, d.flags);
            if (!name) return temporary(d.mailbox, name.error());
            d.stored.push_back(StoredFile{folder, *name, size, 0});
            log::info("deliver.ok", "{} folder={} file={} size={}", d.mailbox, folder.empty() ? "INBOX" : folder, *name,
                      size);
        }
        done_.push_back(d.mailbox);
        return std::nullopt;
    }

  private:
    const Config& cfg_;
    std::vector<std::string>& done_;
};

// The first step after the store: the files into the index (best effort:
// the next scan indexes a file it missed).
class IndexStep : public DeliveryStep {
  public:
    std::string_view name() const override { return "index"; }
    When when() const override { return When::after_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        for (auto& f : d.stored) {
            if (f.uid) continue; // indexed with others (LocalDelivery::finish)
            auto uid = d.index->add_delivered(f.folder, f.name, f.size, d.now, d.facts.fields, d.flags);
            if (!uid) log::warn("deliver.index", "{}: {} (the next scan indexes it)", d.mailbox, uid.error().detail);
            else f.uid = *uid;
        }
        return std::nullopt;
    }
};

// The out-of-office reply, once the message is safe.
class AutoreplyStep : public DeliveryStep {
  public:
    AutoreplyStep(const Config& cfg, Directory& dir) : cfg_(cfg), dir_(dir) {}
    std::string_view name() const override { return "autoreply"; }
    When when() const override { return When::after_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        if (d.facts.quarantine) return std::nullopt; // no reply to a forged sender
        auto ar = dir_.autoreply(d.target.mailbox);
        if (!ar) return temporary(d.mailbox, ar.error());
        if (!*ar) return std::nullopt;
        auto r = autoreply(cfg_, **ar, d.facts.message, d.facts.sender, d.now);
        if (!r.sent) log::info("autoreply.skip", "{} <{}>: {}", d.mailbox, d.facts.sender, r.reason);
        return std::nullopt;
    }

  private:
    const Config& cfg_;
    Directory& dir_;
};

// A DMARC aggregate report about one of our domains (sent to the rua= of
// its record): its rows kept for `mail-admin dmarc report`. The message
// is mail like any other; a report that does not parse is only logged.
class DmarcReportStep : public DeliveryStep {
  public:
    DmarcReportStep(const Config& cfg, Directory& dir) : cfg_(cfg), dir_(dir) {}
    std::string_view name() const override { return "dmarc-report"; }
    When when() const override { return When::after_store; }
    std::optional<RecipientStatus> run(MailboxDelivery& d) override {
        // (A report sent to several of our mailboxes is kept once: see add_received.)
        if (!reports::is_aggregate_report(d.facts.fields.subject)) return std::nullopt;
        auto found = reports::reports_in_message(d.facts.message);
        if (!found) {
            log::warn("deliver.dmarc_report", "{}: {}", d.mailbox, found.error().user);
            return std::nullopt;
        }
        for (auto& f : *found) {
            if (!dir_.domain(f.domain)) {
                log::info("deliver.dmarc_report", "{}: a report about {}, not a domain of ours: not kept", d.mailbox,
                          f.domain);
                continue;
            }
            auto db = reports::open_log(cfg_);
            auto added = db ? reports::add_received(*db, f, d.now) : Result<bool>(db.error());
            if (!added) log::error("deliver.dmarc_report", added.error());
            else log::info("deliver.dmarc_report", "{}: report {} of {} about {}, {} records{}", d.mailbox, f.report_id,
                           f.org_name, f.domain, f.rows.size(), *added ? "" : " (already kept)");
        }
        return std::nullopt;
    }

  private:
    const Config& cfg_;
    Directory& dir_;
};

} // namespace

std::vector<std::unique_ptr<DeliveryStep>> default_steps(const Config& cfg, Directory& dir, IndexCache& indexes,
                                                         std::vector<std::string>& done) {
    std::vector<std::unique_ptr<DeliveryStep>> steps;
    steps.push_back(std::make_unique<LoopStep>(done));
    steps.push_back(std::make_unique<TagFolderStep>());
    steps.push_back(std::make_unique<MailboxStep>(indexes));
    steps.push_back(std::make_unique<JunkStep>());
    steps.push_back(std::make_unique<QuotaStep>(cfg));
    steps.push_back(std::make_unique<StoreStep>(cfg, done));
    steps.push_back(std::make_unique<IndexStep>());
    steps.push_back(std::make_unique<AutoreplyStep>(cfg, dir));
    steps.push_back(std::make_unique<DmarcReportStep>(cfg, dir));
    return steps;
}

RecipientStatus store_steps(const std::vector<std::unique_ptr<DeliveryStep>>& steps, MailboxDelivery& d) {
    for (auto& step : steps) {
        if (step->when() == When::after_store) continue;
        if (d.discard && step->when() == When::store) {
            log::info("deliver.discard", "{}: discarded", d.mailbox);
            continue;
        }
        if (auto r = step->run(d)) return *r;
    }
    return delivered(d.mailbox, d.discard ? "discarded" : "delivered");
}

void after_store_steps(const std::vector<std::unique_ptr<DeliveryStep>>& steps, MailboxDelivery& d) {
    if (d.stored.empty()) return; // nothing stored (discarded, refused): nothing follows
    for (auto& step : steps)
        if (step->when() == When::after_store)
            if (auto r = step->run(d); r && !r->ok())
                log::warn("deliver.step", "{}: step {} after the store: {} {}", d.mailbox, step->name(), r->dsn, r->text);
}

} // namespace mail
