// mail-admin check [--repair]: the directory against the mail folders, and
// each folder's index against its files. Without --repair nothing changes.
#include <ctime>
#include <dirent.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.hpp"
#include "base/owner.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace {

constexpr time_t stale_tmp_age = 36 * 3600; // the Maildir convention

struct Findings {
    std::vector<std::string> problems;
    void add(std::string p) { problems.push_back(std::move(p)); }
};

std::vector<std::string> subdirs(const std::string& path) {
    std::vector<std::string> out;
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(path.c_str()), closedir);
    if (!d) return out;
    while (auto* e = readdir(d.get()))
        if (e->d_name[0] != '.' && e->d_type == DT_DIR) out.push_back(e->d_name);
    return out;
}

void check_tmp(Admin& a, Findings& f, const std::string& folder_dir) {
    std::string tmp = folder_dir + "/tmp";
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(tmp.c_str()), closedir);
    if (!d) return;
    time_t now = time(nullptr);
    while (auto* e = readdir(d.get())) {
        if (e->d_name[0] == '.') continue;
        std::string p = tmp + "/" + e->d_name;
        struct stat st;
        if (lstat(p.c_str(), &st) != 0 || now - st.st_mtime < stale_tmp_age) continue;
        f.add("stale temporary file " + p);
        if (a.args.repair) ::unlink(p.c_str());
    }
}

void check_mailbox(Admin& a, Findings& f, const mail::Entry& e) {
    std::string root = a.mailbox_root(e.address);
    struct stat st;
    if (stat((root + "/cur").c_str(), &st) != 0) {
        f.add("missing mail folder for " + e.address.str() + ": " + root);
        if (a.args.repair) must(a, mail::maildir::create_mailbox(root));
        else return;
    }
    auto idx = must(a, mail::MailboxIndex::open(root));
    for (auto& folder : must(a, mail::maildir::list_folders(root))) {
        auto rep = must(a, idx.scan(folder, true, !a.args.repair));
        if (rep.added || rep.removed || rep.changed)
            f.add(fmt::format("index of {} {}: {} files not indexed, {} entries without file, "
                              "{} changed", e.address.str(), folder, rep.added, rep.removed,
                              rep.changed));
        check_tmp(a, f, mail::maildir::folder_path(root, folder));
    }
}

void check(Admin& a) {
    Findings f;
    for (auto& p : mail::store_modes(a.config(), false)) f.add(p);
    if (a.args.repair)
        for (auto& p : mail::store_modes(a.config(), true)) a.fail(mail::Errc::noperm, "not repaired: " + p);
    auto mailboxes = must(a, a.directory().list(mail::AddressKind::mailbox, ""));
    for (auto& e : mailboxes) check_mailbox(a, f, e);
    // Folders on disk that no mailbox owns: reported, never removed.
    std::string root = a.config().mail_root();
    for (auto& dom : subdirs(root))
        for (auto& local : subdirs(root + "/" + dom)) {
            auto e = a.directory().lookup(mail::Address{local, dom});
            if (!e || e->kind != mail::AddressKind::mailbox)
                f.add("mail folder without a mailbox: " + root + "/" + dom + "/" + local);
        }
    if (a.json) {
        mail::JsonWriter w;
        w.begin_object().key("mailboxes").value(static_cast<int64_t>(mailboxes.size()));
        w.key("problems").strings(f.problems).key("repaired").value(a.args.repair);
        print_json(w.end_object());
    } else {
        for (auto& p : f.problems) fmt::print("{}{}\n", a.args.repair ? "repaired: " : "", p);
        fmt::print("{} mailboxes checked, {} problems\n", mailboxes.size(), f.problems.size());
    }
    if (!f.problems.empty() && !a.args.repair) a.rc = mail::exit_status(mail::Errc::data);
}

} // namespace

void add_check_commands(CLI::App& app, Admin& a) {
    auto* sub = app.add_subcommand("check", "check the directory, folders and indexes");
    sub->add_flag("--repair", a.args.repair, "fix what can be fixed");
    sub->callback(guard([&a] { check(a); }));
}
