#include "writer.hpp"

#include <ctime>
#include <dirent.h>
#include <sys/stat.h>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "deliver/autoreply.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "store/maildir.hpp"

namespace mail::fetch {

Status LocalWriter::open() {
    auto addr = parse_address(a_.address);
    if (!addr) return addr.error();
    auto e = dir_.lookup(*addr);
    if (!e) return e.error();
    if (e->kind != AddressKind::mailbox)
        return make_error(Errc::nouser, a_.address + " is not a mailbox");
    mailbox_ = e->address;
    quota_ = e->quota ? e->quota : cfg_.delivery.default_quota;
    root_ = mailbox_root(cfg_, mailbox_);
    host_ = host_name(cfg_);
    struct stat st;
    if (stat((root_ + "/cur").c_str(), &st) != 0) MAIL_TRY(maildir::create_mailbox(root_));
    auto idx = MailboxIndex::open(root_);
    if (!idx) return idx.error();
    index_.emplace(std::move(*idx));
    if (quota_) {
        auto used = index_->total_size();
        if (!used) return used.error();
        used_ = *used;
    }
    return {};
}

Error LocalWriter::too_big(uint64_t size, bool announced) const {
    std::string what = announced ? fmt::format("announced a message of {} bytes", size)
                                 : fmt::format("sent more than {} bytes for one message", cfg_.delivery.max_message_size);
    return make_error(Errc::data, fmt::format("the server {}, over the message size limit ({} bytes): discarded, "
                                              "left on the server", what, cfg_.delivery.max_message_size));
}

Status LocalWriter::use_folder(const std::string& folder) {
    if (!maildir::valid_folder_name(folder))
        return make_error(Errc::data, "invalid local folder name '" + folder + "'");
    folder_ = maildir::is_inbox(folder) ? "" : folder;
    dir_path_ = maildir::folder_path(root_, folder_);
    struct stat st;
    if (stat((dir_path_ + "/cur").c_str(), &st) != 0) MAIL_TRY(maildir::create_folder(root_, folder_));
    return {};
}

Status LocalWriter::begin(int64_t size, std::string tag) {
    if (size > 0 && static_cast<uint64_t>(size) > cfg_.delivery.max_message_size)
        return too_big(static_cast<uint64_t>(size), true);
    if (quota_ && static_cast<uint64_t>(used_ + size) > quota_)
        return make_error(Errc::tempfail, "mailbox full: " + mailbox_.str());
    received_ = 0;
    tag_ = std::move(tag);
    auto f = maildir::MessageFile::create(dir_path_, host_, tag_);
    if (!f) return f.error();
    file_.emplace(std::move(*f));
    header_.clear();
    header_done_ = false;
    crlf_ = CrlfFilter{};
    return {};
}

// The bytes that actually arrive count, whatever the server announced.
Status LocalWriter::data(std::string_view piece) {
    received_ += piece.size();
    if (received_ > cfg_.delivery.max_message_size) return too_big(received_, false);
    if (quota_ && static_cast<uint64_t>(used_) + received_ > quota_ + quota_slack)
        return make_error(Errc::tempfail, "mailbox full: " + mailbox_.str());
    out_.clear();
    crlf_.feed(piece, out_);
    if (!header_done_) {
        size_t room = max_captured_header - std::min(max_captured_header, header_.size());
        header_.append(out_, 0, std::min(room, out_.size()));
        size_t end = header_.find("\n\n");
        if (end != std::string::npos) header_.resize(end + 1), header_done_ = true;
        else if (header_.size() >= max_captured_header) header_done_ = true;
    }
    return file_->write(out_);
}

Result<LocalWriter::Staged> LocalWriter::stage(const std::vector<std::string>& flags, int64_t internaldate, bool actions) {
    out_.clear();
    crlf_.finish(out_); // a CR at the very end
    if (!out_.empty()) MAIL_TRY(file_->write(out_));
    std::string letters;
    for (auto& f : flags) {
        if (iequals(f, "\\Seen")) letters += 'S';
        else if (iequals(f, "\\Flagged")) letters += 'F';
        else if (iequals(f, "\\Answered")) letters += 'R';
        else if (iequals(f, "\\Draft")) letters += 'D';
    }
    letters = maildir::normalize_flags(letters);
    int64_t size = static_cast<int64_t>(file_->size());
    if (internaldate <= 0) internaldate = time(nullptr);
    file_->set_mtime(internaldate);
    auto base = file_->commit(letters, false, &dirs_);
    file_.reset();
    if (!base) return base.error();
    used_ += size;
    auto h = parse_header(header_);
    NewFile n{*base, size, internaldate, h ? cache_fields(*h) : CachedFields{}, letters, {}, {}};
    Staged out{n.fields.message_id, size};
    pending_.push_back(std::move(n));
    if (actions && h) replies_.push_back(header_);
    return out;
}

Status LocalWriter::flush() {
    MAIL_TRY(dirs_.sync());
    if (!pending_.empty())
        if (Status st = index_->add_delivered(folder_, pending_); !st)
            log::warn("fetch.index", "{}: {} (the next scan indexes it)", mailbox_.str(), st.error().detail);
    pending_.clear();
    for (auto& h : replies_) autoreply_to(h);
    replies_.clear();
    return {};
}

std::map<std::string, std::string> LocalWriter::tagged(const std::string& prefix) {
    std::map<std::string, std::string> out;
    std::string marker = "_" + prefix;
    for (const char* sub : {"/new", "/cur"}) {
        DIR* d = opendir((dir_path_ + sub).c_str());
        if (!d) continue;
        while (dirent* e = readdir(d)) {
            std::string_view name = e->d_name;
            size_t at = name.find(marker);
            if (at == std::string_view::npos) continue;
            size_t end = name.find('.', at);
            if (end == std::string_view::npos) continue;
            out[std::string(name.substr(at + 1, end - at - 1))] = dir_path_ + sub + "/" + std::string(name);
        }
        closedir(d);
    }
    return out;
}

void LocalWriter::autoreply_to(const std::string& header) {
    auto h = parse_header(header);
    if (!h) return;
    auto ar = dir_.autoreply(mailbox_);
    if (!ar || !*ar) return;
    // The envelope sender of fetched mail is its Return-Path; the old
    // address counts as the user's own.
    auto rp = h->get("Return-Path");
    std::string sender;
    if (rp) {
        auto list = parse_address_list(*rp);
        if (!list.empty()) sender = list[0].str();
    }
    if (sender.empty()) {
        log::info("autoreply.skip", "{}: fetched message without Return-Path", mailbox_.str());
        return;
    }
    AutoreplySettings s = **ar;
    if (a_.user.find('@') != std::string::npos) s.extra.push_back(a_.user);
    auto r = autoreply(cfg_, s, header + "\n", sender, now());
    if (!r.sent) log::info("autoreply.skip", "{} <{}>: {}", mailbox_.str(), sender, r.reason);
}

} // namespace mail::fetch
