#include "sync.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <optional>
#include <set>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>
#include <utility>

#include "base/files.hpp"
#include "base/log.hpp"
#include "fetch/pop3.hpp"
#include "fetch/writer.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace mail::fetch {

namespace {

constexpr size_t fetch_batch = 200; // UIDs per UID FETCH command
constexpr size_t batch_flush = 64;  // messages per directory sync and state transaction

// Messages of one remote folder on their way: marked in flight at the
// first, recorded in fetch.sqlite every `batch_flush` messages (and at the
// end) once the writer made them durable.
class Batch {
  public:
    Batch(State& state, LocalWriter& w, int64_t account, std::string folder)
        : state_(state), w_(w), account_(account), folder_(std::move(folder)) {}
    ~Batch() {
        if (open_) w_.abort();
    }

    Status begin(int64_t size, std::string tag) {
        if (!marked_) {
            MAIL_TRY(state_.set_in_flight(account_, folder_));
            marked_ = true;
        }
        open_ = true;
        return w_.begin(size, std::move(tag));
    }
    Status data(std::string_view piece) { return w_.data(piece); }
    // `key(message_id)` makes the state key from the message's Message-ID.
    Result<int64_t> done(const std::function<std::string(const std::string&)>& key, int64_t uid,
                         const std::vector<std::string>& flags, int64_t internaldate, bool actions) {
        open_ = false;
        auto s = w_.stage(flags, internaldate, actions);
        if (!s) return s.error();
        add(key(s->message_id), uid, s->size);
        if (keys_.size() >= batch_flush) MAIL_TRY(flush());
        return s->size;
    }
    // A message found already here (after a crash).
    void add(std::string key, int64_t uid, int64_t size) {
        keys_.push_back(std::move(key));
        last_uid_ = std::max(last_uid_, uid);
        bytes_ += size;
        if (uid > 0) uids_.push_back(uid);
    }
    Status flush() {
        if (open_) {
            w_.abort();
            open_ = false;
        }
        MAIL_TRY(w_.flush());
        if (keys_.empty() && !marked_) return {};
        MAIL_TRY(state_.delivered(account_, folder_, keys_, last_uid_, bytes_));
        keys_.clear();
        bytes_ = 0;
        marked_ = false;
        return {};
    }
    // After a crash: the mark is set already; the next flush clears it.
    void adopt_mark() { marked_ = true; }
    // UIDs recorded so far (for --delete); taken.
    std::vector<int64_t> take_uids() { return std::exchange(uids_, {}); }

  private:
    State& state_;
    LocalWriter& w_;
    int64_t account_;
    std::string folder_;
    std::vector<std::string> keys_;
    std::vector<int64_t> uids_;
    int64_t last_uid_ = 0, bytes_ = 0;
    bool marked_ = false, open_ = false;
};

// The Message-ID of a message file (its header, at most 256 KB read).
std::string message_id_of(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return "";
    std::string text(max_captured_header, '\0');
    ssize_t n = ::read(fd.get(), text.data(), text.size());
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    auto h = parse_header(text);
    return h ? cache_fields(*h).message_id : "";
}

uint64_t fnv1a(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

std::string normalize_id(std::string_view id) { return unfold(id); }

std::string human_size(int64_t b) {
    if (b >= (1 << 20)) return fmt::format("{:.1f} MB", b / 1048576.0);
    return fmt::format("{:.0f} KB", b / 1024.0);
}

// The IMAP side of a run.
class ImapRun {
  public:
    ImapRun(const Config& cfg, State& state, const FetchAccount& a, LocalWriter& w, int64_t first_sync,
            const SyncOptions& opt, RunResult& r)
        : cfg_(cfg), state_(state), a_(a), w_(w), first_sync_(first_sync), opt_(opt), r_(r) {}

    Status run(const std::string& password) {
        auto c = imap::Client::open(endpoint_of(a_, opt_.timeout, opt_.command_time));
        if (!c) return c.error();
        client_.emplace(std::move(*c));
        MAIL_TRY(client_->login(a_.user, password));
        std::vector<std::pair<std::string, std::string>> folders; // remote, local
        if (a_.all_folders()) {
            auto list = client_->list();
            if (!list) return list.error();
            for (auto& e : *list)
                if (e.selectable()) folders.emplace_back(e.name, local_folder(e, a_.into));
        } else {
            for (auto& f : a_.folders) folders.emplace_back(f, a_.into.empty() ? "INBOX" : a_.into);
        }
        for (auto& [remote, local] : folders) MAIL_TRY(folder(remote, local));
        if (opt_.idle_seconds > 0) MAIL_TRY(idle(folders));
        client_->logout();
        return {};
    }

  private:
    Status idle(const std::vector<std::pair<std::string, std::string>>& folders) {
        auto inbox = std::find_if(folders.begin(), folders.end(), [](auto& f) { return maildir::is_inbox(f.first); });
        if (inbox == folders.end() || !client_->capabilities().has("IDLE")) return {};
        time_t end = time(nullptr) + opt_.idle_seconds;
        for (;;) {
            time_t now = time(nullptr);
            if (now >= end) return {};
            // RFC 2177: end IDLE before 29 minutes; servers drop it at 30.
            auto news = client_->idle(static_cast<int>(std::min<time_t>(end - now, 25 * 60)));
            if (!news) return news.error();
            if (*news) MAIL_TRY(folder(inbox->first, inbox->second));
        }
    }

    std::string tag_prefix(int64_t uidvalidity) const { return fmt::format("f{}v{}u", a_.id, uidvalidity); }

    // After a crash (the folder's batch still marked in flight): the files
    // the interrupted run wrote, UID -> path; `batch` takes over the mark.
    Result<std::map<int64_t, std::string>> leftovers(const std::string& remote, int64_t uidvalidity, Batch& batch) {
        std::map<int64_t, std::string> out;
        auto crashed = state_.in_flight(a_.id, remote);
        if (!crashed) return crashed.error();
        if (!*crashed) return out;
        batch.adopt_mark();
        std::string prefix = tag_prefix(uidvalidity);
        for (auto& [tag, path] : w_.tagged(prefix)) {
            char* end = nullptr;
            long long uid = strtoll(tag.c_str() + prefix.size(), &end, 10);
            if (uid > 0 && *end == '\0') out[uid] = path;
        }
        return out;
    }

    Status folder(const std::string& remote, const std::string& local) {
        MAIL_TRY(w_.use_folder(local));
        auto sel = client_->select(remote, a_.keep);
        if (!sel) return sel.error();
        auto known = state_.folder(a_.id, remote);
        if (!known) return known.error();
        if (known->uidvalidity != 0 && known->uidvalidity != sel->uidvalidity)
            return renumbered(remote, *known, *sel);
        if (known->uidvalidity == 0) {
            known->uidvalidity = sel->uidvalidity;
            MAIL_TRY(state_.set_folder(a_.id, remote, *known));
        }
        Batch batch(state_, w_, a_.id, remote);
        // After a crash: what the interrupted run wrote is here already.
        auto here = leftovers(remote, sel->uidvalidity, batch);
        if (!here) return here.error();
        // Nothing new, nothing to delete: no more commands.
        if (here->empty() && (sel->exists == 0 || (a_.keep && sel->uidnext > 0 && sel->uidnext <= known->last_uid + 1)))
            return batch.flush();
        auto list = client_->sizes_from(a_.keep ? known->last_uid + 1 : 1);
        if (!list) return list.error();
        std::vector<int64_t> done;
        std::vector<imap::Fetched> wanted;
        for (auto& m : *list) {
            if (m.uid <= known->last_uid) {
                done.push_back(m.uid);
            } else if (auto it = here->find(m.uid); it != here->end()) {
                batch.add(message_key(normalize_id(message_id_of(it->second)), m.size), m.uid, 0);
                log::info("fetch.recovered", "account {} {} UID {}: already here", a_.id, remote, m.uid);
            } else {
                wanted.push_back(m);
            }
        }
        MAIL_TRY(batch.flush());
        for (auto uid : batch.take_uids()) done.push_back(uid);
        std::sort(done.begin(), done.end());
        // --delete: what an earlier run delivered but could not delete yet.
        if (!a_.keep && !done.empty()) MAIL_TRY(client_->remove(imap::uid_set(done)));
        return fetch_all(remote, wanted, sel->uidvalidity);
    }

    // UIDVALIDITY changed: the UIDs mean nothing now. What is here already
    // is recognised by Message-ID and size; the rest is fetched.
    Status renumbered(const std::string& remote, State::Folder known, const imap::Selected& sel) {
        log::warn("fetch.uidvalidity", "account {} folder {}: UIDVALIDITY {} -> {}; matching by Message-ID",
                  a_.id, remote, known.uidvalidity, sel.uidvalidity);
        auto keys = state_.keys(a_.id, remote);
        if (!keys) return keys.error();
        auto ids = client_->message_ids();
        if (!ids) return ids.error();
        // An interrupted renumbering left tagged files of its last batch.
        Batch batch(state_, w_, a_.id, remote);
        auto tagged = leftovers(remote, sel.uidvalidity, batch);
        if (!tagged) return tagged.error();
        std::vector<imap::Fetched> wanted;
        std::vector<int64_t> here;
        int64_t max_uid = 0;
        for (auto& [m, id] : *ids) {
            max_uid = std::max(max_uid, m.uid);
            std::string nid = normalize_id(id);
            if (!nid.empty() && keys->count(message_key(nid, m.size))) {
                here.push_back(m.uid);
            } else if (auto it = tagged->find(m.uid); it != tagged->end()) {
                batch.add(message_key(normalize_id(message_id_of(it->second)), m.size), 0, 0);
                here.push_back(m.uid);
            } else {
                wanted.push_back(m);
            }
        }
        MAIL_TRY(batch.flush());
        std::sort(here.begin(), here.end());
        if (!a_.keep && !here.empty()) MAIL_TRY(client_->remove(imap::uid_set(here)));
        MAIL_TRY(fetch_all(remote, wanted, sel.uidvalidity));
        // Only now: a crash before this line matches again next time.
        return state_.set_folder(a_.id, remote, State::Folder{sel.uidvalidity, max_uid});
    }

    Status fetch_all(const std::string& remote, const std::vector<imap::Fetched>& wanted, int64_t uidvalidity) {
        // Too big for delivery: left on the server, said in the run's result.
        std::vector<imap::Fetched> ok;
        for (auto& m : wanted) {
            if (m.size > 0 && static_cast<uint64_t>(m.size) > cfg_.delivery.max_message_size)
                r_.warnings.push_back(fmt::format("{} UID {} ({}) is over the message size limit; left on the server",
                                                  remote, m.uid, human_size(m.size)));
            else
                ok.push_back(m);
        }
        Progress p;
        p.folder = remote;
        p.total = static_cast<int64_t>(ok.size());
        for (auto& m : ok) p.total_bytes += std::max<int64_t>(m.size, 0);
        if (opt_.progress && p.total) opt_.progress(p);
        Batch batch(state_, w_, a_.id, remote);
        for (size_t i = 0; i < ok.size(); i += fetch_batch) {
            std::vector<int64_t> uids;
            for (size_t j = i; j < ok.size() && j < i + fetch_batch; j++) uids.push_back(ok[j].uid);
            Sink sink(*this, batch, p, uidvalidity, std::set<int64_t>(uids.begin(), uids.end()));
            Status got = client_->fetch(imap::uid_set(uids), sink);
            // What arrived whole is kept, also when the rest failed.
            MAIL_TRY(batch.flush());
            MAIL_TRY(got);
            auto delivered = batch.take_uids();
            if (!a_.keep && !delivered.empty()) MAIL_TRY(client_->remove(imap::uid_set(delivered)));
        }
        return {};
    }

    struct Sink : imap::BodySink {
        Sink(ImapRun& run, Batch& batch, Progress& p, int64_t uidvalidity, std::set<int64_t> asked)
            : run_(run), batch_(batch), p_(p), uidvalidity_(uidvalidity), asked_(std::move(asked)) {}
        Status begin(int64_t size) override {
            // The tag needs the UID, which may follow the body: a temporary
            // one, the real UID goes into the final name.
            return batch_.begin(size, "");
        }
        Status data(std::string_view piece) override { return batch_.data(piece); }
        Status done(const imap::Fetched& m, bool had_body) override {
            if (!had_body) return {}; // a flag change reported on the way
            if (m.uid <= 0) return make_error(Errc::unavailable, "IMAP server: FETCH response without UID");
            // Each body asked for once: a server cannot push more mail.
            if (!asked_.erase(m.uid))
                return make_error(Errc::unavailable, fmt::format("IMAP server sent UID {} not asked for (or twice)", m.uid));
            bool fresh = run_.first_sync_ > 0 && m.internaldate >= run_.first_sync_;
            run_.w_.retag(run_.tag_prefix(uidvalidity_) + std::to_string(m.uid));
            auto size = batch_.done([&](const std::string& id) { return message_key(normalize_id(id), m.size); },
                                    m.uid, m.flags, m.internaldate, fresh);
            if (!size) return size.error();
            run_.r_.messages++, run_.r_.bytes += *size;
            p_.messages++, p_.bytes += std::max<int64_t>(m.size, 0);
            if (run_.opt_.progress) run_.opt_.progress(p_);
            return {};
        }
        ImapRun& run_;
        Batch& batch_;
        Progress& p_;
        int64_t uidvalidity_;
        std::set<int64_t> asked_;
    };

    const Config& cfg_;
    State& state_;
    const FetchAccount& a_;
    LocalWriter& w_;
    int64_t first_sync_;
    const SyncOptions& opt_;
    RunResult& r_;
    std::optional<imap::Client> client_;
};

Status pop3_run(const Config& cfg, State& state, const FetchAccount& a, LocalWriter& w, int64_t first_sync,
                const std::string& password, const SyncOptions& opt, RunResult& r) {
    auto c = pop3::Client::open(endpoint_of(a, opt.timeout, opt.command_time));
    if (!c) return c.error();
    MAIL_TRY(c->login(a.user, password));
    auto list = c->list();
    if (!list) return list.error();
    auto known = state.keys(a.id, "");
    if (!known) return known.error();
    MAIL_TRY(w.use_folder(a.into.empty() ? "INBOX" : a.into));
    auto crashed = state.in_flight(a.id, "");
    if (!crashed) return crashed.error();
    auto tag = [&](const std::string& uidl) { return fmt::format("f{}p{:016x}", a.id, fnv1a(uidl)); };
    std::map<std::string, std::string> here;
    Batch batch(state, w, a.id, "");
    if (*crashed) {
        here = w.tagged(fmt::format("f{}p", a.id));
        batch.adopt_mark();
    }
    std::vector<pop3::Message> wanted;
    std::unordered_set<std::string> present;
    Progress p;
    p.folder = "INBOX";
    for (auto& m : *list) {
        present.insert(m.uidl);
        if (known->count(m.uidl)) continue;
        if (here.count(tag(m.uidl))) {
            batch.add(m.uidl, 0, 0);
            known->insert(m.uidl);
            continue;
        }
        if (static_cast<uint64_t>(m.size) > cfg.delivery.max_message_size) {
            r.warnings.push_back(fmt::format("message {} ({}) is over the message size limit; left on the server",
                                             m.uidl, human_size(m.size)));
            continue;
        }
        wanted.push_back(m);
        p.total++, p.total_bytes += m.size;
    }
    MAIL_TRY(batch.flush());
    if (opt.progress && p.total) opt.progress(p);
    pop3::Client::Receiver to;
    to.start = [&](const pop3::Message& m) { return batch.begin(m.size, tag(m.uidl)); };
    to.data = [&](std::string_view piece) { return batch.data(piece); };
    to.done = [&](const pop3::Message& m) -> Status {
        // POP3 has no arrival date: what the first run finds is old mail.
        auto size = batch.done([&](const std::string&) { return m.uidl; }, 0, {}, 0, first_sync > 0);
        if (!size) return size.error();
        known->insert(m.uidl);
        r.messages++, r.bytes += *size;
        p.messages++, p.bytes += m.size;
        if (opt.progress) opt.progress(p);
        return {};
    };
    Status got = c->retrieve(wanted, to);
    MAIL_TRY(batch.flush());
    MAIL_TRY(got);
    if (!a.keep)
        for (auto& m : *list)
            if (known->count(m.uidl)) MAIL_TRY(c->remove(m.number));
    MAIL_TRY(c->quit());
    // Forget what the server no longer has (deleted here or elsewhere).
    return state.prune(a.id, "", present);
}

} // namespace

Endpoint endpoint_of(const FetchAccount& a, int timeout, int command_time) {
    Endpoint ep;
    ep.host = a.host, ep.port = a.port, ep.tls = a.tls, ep.verify = a.verify, ep.ca_file = a.ca_file;
    ep.timeout = timeout;
    ep.command_time = command_time;
    return ep;
}

std::string local_folder(const imap::ListEntry& remote, const std::string& into) {
    std::string prefix = into.empty() || maildir::is_inbox(into) ? "" : into + "/";
    if (maildir::is_inbox(remote.name)) return into.empty() ? "INBOX" : into;
    if (auto use = remote.special_use(); !use.empty()) return prefix + use;
    std::vector<std::string> parts;
    std::string_view name = remote.name;
    for (size_t p = 0; p <= name.size();) {
        size_t d = remote.delimiter ? name.find(remote.delimiter, p) : std::string_view::npos;
        if (d == std::string_view::npos) d = name.size();
        parts.emplace_back(name.substr(p, d - p));
        p = d + 1;
    }
    if (parts.size() > 1 && !parts[0].empty() && maildir::is_inbox(parts[0])) parts.erase(parts.begin());
    std::string out;
    for (auto& c : parts) {
        for (auto& ch : c) {
            auto u = static_cast<unsigned char>(ch);
            if (u < 0x20 || u == 0x7f || ch == '.' || ch == '/' || ch == '\\' || ch == '*' || ch == '%') ch = '_';
        }
        if (c.empty() || c == "new" || c == "cur" || c == "tmp" || c[0] == '~') c = "_" + c;
        if (!out.empty()) out += '/';
        out += c;
    }
    if (out.size() > 200) {
        out.resize(200);
        while (!out.empty() && out.back() == '/') out.pop_back(); // no empty last level
        // A level cut short may now be a reserved name ("newsletters" -> "new").
        size_t last = out.rfind('/') + 1;
        std::string_view tail = std::string_view(out).substr(last);
        if (tail == "new" || tail == "cur" || tail == "tmp") out.insert(last, "_");
    }
    return prefix + out;
}

AccountHealth after_run(AccountHealth h, const RunResult& r, int64_t started, int64_t now, int retry_max,
                        int max_auth_failures) {
    h.last_attempt = started;
    if (r.status) {
        if (!h.first_sync) h.first_sync = started;
        h.last_success = now;
        h.failures = h.auth_failures = 0;
        h.next_try = 0;
        h.last_error = r.warnings.empty() ? "" : r.warnings.back();
        return h;
    }
    h.failures++;
    h.last_error = r.status.error().user;
    if (r.status.error().code == Errc::noperm) {
        h.auth_failures++;
        if (h.auth_failures >= max_auth_failures)
            h.disabled = fmt::format("login refused {} times in a row: {}", h.auth_failures, h.last_error);
    } else {
        h.auth_failures = 0;
    }
    int64_t delay = 60;
    for (int64_t i = 1; i < h.failures && delay < retry_max; i++) delay *= 2;
    h.next_try = now + std::min<int64_t>(delay, retry_max);
    return h;
}

RunResult sync_account(const Config& cfg, Directory& dir, State& state, const FetchAccount& a,
                       const std::string& password, const SyncOptions& opt) {
    RunResult r;
    auto health = state.health(a.id);
    if (!health) {
        r.status = health.error();
        return r;
    }
    LocalWriter w(cfg, dir, a);
    if (Status st = w.open(); !st) {
        r.status = st;
        return r;
    }
    if (a.protocol == "imap") {
        ImapRun run(cfg, state, a, w, health->first_sync, opt, r);
        r.status = run.run(password);
    } else {
        r.status = pop3_run(cfg, state, a, w, health->first_sync, password, opt, r);
    }
    return r;
}

Result<std::string> test_account(const FetchAccount& a, const std::string& password, int timeout) {
    Endpoint ep = endpoint_of(a, timeout);
    if (a.protocol == "imap") {
        auto c = imap::Client::open(ep);
        if (!c) return c.error();
        MAIL_TRY(c->login(a.user, password));
        std::string out = "logged in";
        if (a.all_folders()) {
            auto list = c->list();
            if (!list) return list.error();
            out += fmt::format(", {} folders", list->size());
        }
        for (auto& f : a.all_folders() ? std::vector<std::string>{"INBOX"} : a.folders) {
            auto sel = c->select(f, true);
            if (!sel) return sel.error();
            out += fmt::format(", {}: {} messages", f, sel->exists);
        }
        c->logout();
        return out;
    }
    auto c = pop3::Client::open(ep);
    if (!c) return c.error();
    MAIL_TRY(c->login(a.user, password));
    auto list = c->list();
    if (!list) return list.error();
    int64_t bytes = 0;
    for (auto& m : *list) bytes += m.size;
    (void)c->quit();
    return fmt::format("logged in, {} messages ({})", list->size(), human_size(bytes));
}

} // namespace mail::fetch
