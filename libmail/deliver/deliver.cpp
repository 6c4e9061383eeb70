#include "deliver.hpp"

#include <algorithm>
#include <ctime>
#include <sys/stat.h>

#include "base/log.hpp"
#include "deliver/autoreply.hpp"
#include "directory/resolve.hpp"
#include "message/header.hpp"
#include "spool/spool.hpp"
#include "store/maildir.hpp"

namespace mail {

namespace {

RecipientStatus status(const std::string& rcpt, Errc code, std::string dsn, std::string text) {
    return RecipientStatus{rcpt, code, std::move(dsn), std::move(text)};
}

RecipientStatus temp(const std::string& rcpt, const Error& e) {
    log::error("deliver.tempfail", e);
    return status(rcpt, Errc::tempfail, "4.3.0", e.user);
}

bool contains_ci(const std::vector<std::string>& list, const std::string& s) {
    return std::any_of(list.begin(), list.end(), [&](auto& x) { return iequals(x, s); });
}

// The folder named by a subaddress tag, when it is a valid existing folder.
std::string tag_folder(const std::string& root, const std::string& tag) {
    if (tag.empty() || !maildir::valid_folder_name(tag) || maildir::is_inbox(tag)) return "";
    struct stat st;
    if (stat((maildir::folder_path(root, tag) + "/new").c_str(), &st) != 0) return "";
    return tag;
}

} // namespace

int exit_code(const std::vector<RecipientStatus>& results) {
    int code = 0;
    for (auto& r : results) {
        if (r.ok()) continue;
        if (r.temporary()) return 75;
        if (!code) code = static_cast<int>(r.code);
    }
    return code;
}

std::vector<RecipientStatus> LocalDelivery::deliver(std::string_view message,
                                                    const std::string& sender,
                                                    const std::vector<std::string>& recipients) {
    std::vector<RecipientStatus> out;
    done_.clear();
    delivered_to_.clear();
    auto h = parse_header(message);
    if (!h) {
        for (auto& r : recipients) out.push_back(status(r, Errc::data, "5.6.0", h.error().user));
        return out;
    }
    for (auto& f : h->fields)
        if (iequals(f.name, "Delivered-To")) {
            auto list = parse_address_list(f.value);
            for (auto& a : list) delivered_to_.push_back(a.str());
            if (list.empty()) delivered_to_.push_back(unfold(f.value));
        }
    hops_ = static_cast<int>(h->count("Received") + h->count("Delivered-To"));
    fields_ = cache_fields(*h);
    for (auto& r : recipients) out.push_back(deliver_one(message, sender, r));
    return out;
}

RecipientStatus LocalDelivery::deliver_one(std::string_view message, const std::string& sender,
                                           const std::string& rcpt) {
    if (message.size() > cfg_.delivery.max_message_size)
        return status(rcpt, Errc::data, "5.3.4", "message too big");
    if (hops_ > cfg_.delivery.max_hops)
        return status(rcpt, Errc::data, "5.4.6", "too many hops (mail loop?)");
    auto addr = parse_address(rcpt);
    if (!addr) return status(rcpt, Errc::data, "5.1.3", "bad address: " + addr.error().user);
    auto res = resolve(dir_, *addr, cfg_);
    if (!res) {
        const Error& e = res.error();
        if (e.code == Errc::nouser) return status(rcpt, Errc::nouser, "5.1.1", e.user);
        if (e.code == Errc::data) return status(rcpt, Errc::data, "5.4.6", e.user);
        return temp(rcpt, e);
    }
    if (contains_ci(delivered_to_, addr->str()))
        return status(rcpt, Errc::data, "5.4.6", "mail loop: already delivered to " + addr->str());
    RecipientStatus worst = status(rcpt, Errc::tempfail, "2.0.0", "delivered");
    if (!res->external.empty()) worst = forward(message, sender, addr->str(), res->external);
    for (auto& t : res->local) {
        auto r = to_mailbox(message, sender, t);
        r.recipient = rcpt;
        if (!r.ok() && (worst.ok() || r.temporary())) worst = r;
    }
    return worst;
}

RecipientStatus LocalDelivery::forward(std::string_view message, const std::string& sender,
                                       const std::string& rcpt,
                                       const std::vector<std::string>& targets) {
    auto spool = queue::Spool::open(queue::spool_dir(cfg_));
    if (!spool) return temp(rcpt, spool.error());
    queue::Envelope env;
    env.arrived = time(nullptr);
    env.sender = sender;
    for (auto& t : targets) env.rcpts.push_back(queue::Recipient{t, "", ""});
    env.client = "forwarded-for=" + rcpt;
    // Delivered-To marks the hop: the copy coming back here is a loop.
    std::string head = "Delivered-To: " + rcpt + "\n";
    if (Status added = spool->add(env, head + std::string(message)); !added) return temp(rcpt, added.error());
    log::info("deliver.forward", "{} -> {} queued as {}", rcpt, fmt::format("{}", fmt::join(targets, ",")), env.id);
    return status(rcpt, Errc::tempfail, "2.0.0", "forwarded to " + fmt::format("{}", fmt::join(targets, ", ")));
}

Result<MailboxIndex*> LocalDelivery::index(const std::string& root) {
    constexpr size_t max_open = 32;
    auto it = indexes_.find(root);
    if (it != indexes_.end()) return &it->second;
    auto idx = MailboxIndex::open(root);
    if (!idx) return idx.error();
    if (indexes_.size() >= max_open) indexes_.clear();
    return &indexes_.emplace(root, std::move(*idx)).first->second;
}

RecipientStatus LocalDelivery::to_mailbox(std::string_view message, const std::string& sender,
                                          const LocalTarget& target) {
    const Address& mbox = target.mailbox;
    std::string who = mbox.str();
    if (contains_ci(delivered_to_, who))
        return status(who, Errc::data, "5.4.6", "mail loop: already delivered to " + who);
    if (contains_ci(done_, who)) return status(who, Errc::tempfail, "2.0.0", "delivered");
    std::string root = mailbox_root(cfg_, mbox);
    std::string folder = tag_folder(root, target.folder);
    std::string head = "Return-Path: <" + sender + ">\nDelivered-To: " + who + "\n";
    int64_t size = static_cast<int64_t>(head.size() + message.size());

    if (struct stat st; stat((root + "/cur").c_str(), &st) != 0) {
        // Listed in the directory but never created (or removed): make it now.
        if (Status made = maildir::create_mailbox(root); !made) return temp(who, made.error());
    }
    auto opened = index(root);
    if (!opened) return temp(who, opened.error());
    MailboxIndex* idx = *opened;
    uint64_t quota = target.quota ? target.quota : cfg_.delivery.default_quota;
    if (quota) {
        auto used = idx->total_size();
        if (!used) return temp(who, used.error());
        if (static_cast<uint64_t>(*used + size) > quota)
            return status(who, Errc::tempfail, "4.2.2", "mailbox full: " + who);
    }
    auto name = maildir::deliver(maildir::folder_path(root, folder), host_name(cfg_),
                                 {head, message});
    if (!name) return temp(who, name.error());
    done_.push_back(who);
    log::info("deliver.ok", "{} folder={} file={} size={}", who, folder.empty() ? "INBOX" : folder,
              *name, size);
    auto uid = idx->add_delivered(folder, *name, size, time(nullptr), fields_);
    if (!uid) log::warn("deliver.index", "{}: {} (the next scan indexes it)", who,
                        uid.error().detail);
    // The message is safe: an out-of-office reply may follow. Its trouble
    // never fails the delivery.
    if (auto ar = dir_.autoreply(mbox); ar && *ar) {
        auto r = autoreply(cfg_, **ar, message, sender, time(nullptr));
        if (!r.sent) log::info("autoreply.skip", "{} <{}>: {}", who, sender, r.reason);
    }
    return status(who, Errc::tempfail, "2.0.0", "delivered");
}

} // namespace mail
