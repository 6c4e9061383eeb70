#include "deliver.hpp"

#include <algorithm>
#include <map>
#include <ctime>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "directory/resolve.hpp"
#include "message/header.hpp"
#include "spool/spool.hpp"
#include "store/maildir.hpp"

namespace mail {

int exit_code(const std::vector<RecipientStatus>& results) {
    int code = 0;
    for (auto& r : results) {
        if (r.ok()) continue;
        if (r.temporary()) return exit_status(Errc::tempfail);
        if (!code) code = exit_status(r.code());
    }
    return code;
}

// The first Authentication-Results field with our authserv-id (the MX
// removes forged ones) says DMARC failed with disposition quarantine.
bool quarantined(const Header& h, const std::string& authserv_id) {
    for (auto& f : h.fields) {
        if (!iequals(f.name, "Authentication-Results")) continue;
        std::string v = unfold(f.value);
        size_t end = v.find_first_of("; \t(");
        if (!iequals(v.substr(0, end), authserv_id)) continue;
        return v.find("dmarc=fail") != std::string::npos && v.find("dis=quarantine") != std::string::npos;
    }
    return false;
}

LocalDelivery::LocalDelivery(const Config& cfg, Directory& dir)
    : cfg_(cfg), dir_(dir), steps_(default_steps(cfg, dir, indexes_, done_)) {}

void LocalDelivery::insert_step(std::string_view before, std::unique_ptr<DeliveryStep> step) {
    auto at = std::find_if(steps_.begin(), steps_.end(), [&](auto& s) { return s->name() == before; });
    steps_.insert(at, std::move(step));
}

std::vector<RecipientStatus> LocalDelivery::deliver(std::string_view message, const std::string& sender,
                                                    const std::vector<std::string>& recipients, const Safe& safe) {
    std::vector<RecipientStatus> out;
    done_.clear();
    bool keep = keep_messages_ > 0 && kept_bytes_ + message.size() <= keep_bytes_;
    if (!keep) finish(); // in order
    auto& m = *kept_.emplace_back(std::make_unique<Delivered>());
    if (keep) {
        m.text = message;
        message = m.text;
        kept_bytes_ += message.size();
    }
    auto h = parse_header(message);
    if (!h) {
        kept_.pop_back();
        for (auto& r : recipients) out.push_back(refused(r, Errc::data, "5.6.0", h.error().user));
        return out;
    }
    MessageFacts& facts = m.facts;
    facts = MessageFacts{message, sender, cache_fields(*h), {}, 0};
    for (auto& f : h->fields)
        if (iequals(f.name, "Delivered-To")) {
            auto list = parse_address_list(f.value);
            for (auto& a : list) facts.delivered_to.push_back(a.str());
            if (list.empty()) facts.delivered_to.push_back(unfold(f.value));
        }
    facts.hops = static_cast<int>(h->count("Received") + h->count("Delivered-To"));
    facts.quarantine = quarantined(*h, host_name(cfg_));
    current_ = &m;
    for (auto& r : recipients) out.push_back(deliver_one(facts, r));
    current_ = nullptr;
    if (safe) safe(out);
    if (!keep || kept_.size() >= keep_messages_) finish();
    return out;
}

// The index first, one transaction per mailbox folder for all the kept
// messages (each file its own transaction again if that fails), then the
// other steps after the store, message by message.
void LocalDelivery::finish() {
    struct Files {
        std::vector<NewFile> files;
        std::vector<StoredFile*> stored;
    };
    std::map<std::pair<MailboxIndex*, std::string>, Files> batches;
    for (auto& m : kept_)
        for (auto& d : m->stored)
            for (auto& f : d.stored) {
                if (!d.index) continue;
                Files& b = batches[{d.index, f.folder}];
                b.files.push_back(NewFile{f.name, f.size, d.now, d.facts.fields, d.flags, {}, {}});
                b.stored.push_back(&f);
            }
    for (auto& [key, b] : batches) {
        if (b.files.size() < 2) continue; // the index step does it
        std::vector<int64_t> uids;
        if (Status st = key.first->add_delivered(key.second, b.files, &uids); !st) {
            log::warn("deliver.index", "{} files at once: {}", b.files.size(), st.error().detail);
            continue;
        }
        for (size_t i = 0; i < uids.size() && i < b.stored.size(); i++) b.stored[i]->uid = uids[i];
    }
    for (auto& m : kept_)
        for (auto& d : m->stored) after_store_steps(steps_, d);
    kept_.clear();
    kept_bytes_ = 0;
}

// The recipient's steps: the bounds, resolution, forwarding, then the
// mailbox steps for each mailbox it names; the worst result counts.
RecipientStatus LocalDelivery::deliver_one(const MessageFacts& facts, const std::string& rcpt) {
    if (facts.message.size() > cfg_.delivery.max_message_size) return refused(rcpt, Errc::data, "5.3.4", "message too big");
    if (facts.hops > cfg_.delivery.max_hops) return refused(rcpt, Errc::data, "5.4.6", "too many hops (mail loop?)");
    if (is_bare_postmaster(rcpt)) return deliver_postmaster(facts, rcpt);
    auto addr = parse_address(rcpt);
    if (!addr) return refused(rcpt, Errc::data, "5.1.3", "bad address: " + addr.error().user);
    return deliver_address(facts, rcpt, *addr);
}

// "postmaster" without a domain: to the address postmaster() finds, which
// queue.postmaster may set outside our domains.
RecipientStatus LocalDelivery::deliver_postmaster(const MessageFacts& facts, const std::string& rcpt) {
    auto addr = postmaster(dir_, cfg_);
    if (!addr) {
        const Error& e = addr.error();
        if (e.code != Errc::nouser && e.code != Errc::data) return temporary(rcpt, e);
        log::err("deliver.postmaster", "{}", e.user);
        return refused(rcpt, Errc::nouser, "5.1.1", e.user);
    }
    auto ours = dir_.has_domain(addr->domain);
    if (!ours) return temporary(rcpt, ours.error());
    if (!*ours) return forward(facts, rcpt, {addr->str()});
    return deliver_address(facts, rcpt, *addr);
}

RecipientStatus LocalDelivery::deliver_address(const MessageFacts& facts, const std::string& rcpt,
                                               const Address& addr) {
    auto res = resolve(dir_, addr, cfg_);
    if (!res) {
        const Error& e = res.error();
        if (e.code == Errc::nouser) return refused(rcpt, Errc::nouser, "5.1.1", e.user);
        if (e.code == Errc::data) return refused(rcpt, Errc::data, "5.4.6", e.user);
        return temporary(rcpt, e);
    }
    if (std::any_of(facts.delivered_to.begin(), facts.delivered_to.end(), [&](auto& x) { return iequals(x, addr.str()); }))
        return refused(rcpt, Errc::data, "5.4.6", "mail loop: already delivered to " + addr.str());
    RecipientStatus worst = delivered(rcpt);
    if (!res->external.empty()) worst = forward(facts, addr.str(), res->external);
    for (auto& t : res->local) {
        const LocalTarget& kept = current_->targets.emplace_back(t);
        MailboxDelivery& d =
            current_->stored.emplace_back(MailboxDelivery{facts, kept, t.mailbox.str(), mailbox_root(cfg_, t.mailbox), now()});
        auto r = store_steps(steps_, d);
        r.recipient = rcpt;
        if (!r.ok() && (worst.ok() || r.temporary())) worst = r;
    }
    return worst;
}

RecipientStatus LocalDelivery::forward(const MessageFacts& facts, const std::string& rcpt,
                                       const std::vector<std::string>& targets) {
    auto spool = queue::Spool::open(queue::spool_dir(cfg_));
    if (!spool) return temporary(rcpt, spool.error());
    queue::Envelope env;
    env.arrived = time(nullptr);
    env.sender = facts.sender;
    for (auto& t : targets) env.rcpts.push_back(queue::Recipient{t, "", ""});
    env.client = "forwarded-for=" + rcpt;
    // Delivered-To marks the hop: the copy coming back here is a loop.
    std::string head = "Delivered-To: " + rcpt + "\n";
    if (Status added = spool->add(env, head + std::string(facts.message)); !added) return temporary(rcpt, added.error());
    log::info("deliver.forward", "{} -> {} queued as {}", rcpt, fmt::format("{}", fmt::join(targets, ",")), env.id);
    return delivered(rcpt, "forwarded to " + fmt::format("{}", fmt::join(targets, ", ")));
}

} // namespace mail
