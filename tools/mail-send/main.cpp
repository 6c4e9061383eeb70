// mail-send: build a message (text from standard input, attachments,
// optional HTML) and queue it as if the --from user had submitted it (the
// signature and DKIM apply), or print it with --print.
#include <ctime>
#include <fmt/format.h>
#include <random>
#include <unistd.h>

#include "base/owner.hpp"
#include "base/config.hpp"
#include "base/encoding.hpp"
#include "base/files.hpp"
#include "base/tool.hpp"
#include "deliver/deliver.hpp"
#include "directory/directory.hpp"
#include "directory/resolve.hpp"
#include "message/address.hpp"
#include "message/header.hpp"
#include "message/mime.hpp"
#include "message/signature.hpp"
#include "spool/spool.hpp"

namespace {

struct Args {
    std::optional<std::string> config;
    std::string from, subject, html, reply_to;
    std::vector<std::string> to, cc, bcc, attach, headers;
    bool print = false;
};

struct Failure {
    mail::Errc code;
    std::string text;
};

// "addr" or "Name <addr>": the address and the display name.
std::pair<mail::Address, std::string> mailbox_arg(const std::string& text) {
    std::string name, addr = text;
    size_t lt = text.rfind('<');
    if (lt != std::string::npos && text.back() == '>') {
        name = text.substr(0, lt);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
        addr = text.substr(lt + 1, text.size() - lt - 2);
    }
    auto a = mail::parse_address(addr);
    if (!a) throw Failure{mail::Errc::data, "invalid address '" + text + "': " + a.error().user};
    return {*a, name};
}

std::string address_list(const std::vector<std::string>& list, std::vector<std::string>& envelope) {
    std::string out;
    for (auto& t : list) {
        auto [a, name] = mailbox_arg(t);
        if (!out.empty()) out += ",\n ";
        out += mail::mime::format_mailbox(name, a.str());
        if (std::find(envelope.begin(), envelope.end(), a.str()) == envelope.end()) envelope.push_back(a.str());
    }
    return out;
}

std::string read_stdin() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    if (n < 0) throw Failure{mail::Errc::ioerr, std::string("cannot read standard input: ") + strerror(errno)};
    return out;
}

std::string read_input_file(const std::string& path) {
    auto f = mail::read_file(path, size_t{1} << 30);
    if (!f) throw Failure{mail::Errc::noinput, "cannot read " + path + ": " + (f.error().detail.empty() ? f.error().user : f.error().detail)};
    return *f;
}

int send(const Args& a) {
    auto cfg = mail::load_config_as_owner(a.config);
    if (!cfg) return mail::log::error("config", cfg.error()), mail::exit_status(mail::Errc::config);
    if (a.to.empty() && a.cc.empty() && a.bcc.empty()) throw Failure{mail::Errc::usage, "no recipient (--to, --cc or --bcc)"};
    auto [from, from_name] = mailbox_arg(a.from);
    std::vector<std::string> envelope;
    mail::mime::Message m;
    m.headers.push_back({"From", mail::mime::format_mailbox(from_name, from.str())});
    if (!a.to.empty()) m.headers.push_back({"To", address_list(a.to, envelope)});
    if (!a.cc.empty()) m.headers.push_back({"Cc", address_list(a.cc, envelope)});
    address_list(a.bcc, envelope); // envelope only
    if (!a.reply_to.empty()) {
        std::vector<std::string> none;
        m.headers.push_back({"Reply-To", address_list({a.reply_to}, none)});
    }
    m.headers.push_back({"Subject", mail::mime::encode_text(a.subject)});
    int64_t now = time(nullptr);
    static std::mt19937_64 rng{std::random_device{}()};
    m.headers.push_back({"Date", mail::format_date(now)});
    m.headers.push_back({"Message-ID", fmt::format("<{}.{:016x}@{}>", now, rng(), from.domain)});
    for (auto& h : a.headers) {
        size_t colon = h.find(':');
        std::string name = h.substr(0, colon);
        bool ok = colon != std::string::npos && !name.empty();
        for (char c : name) ok = ok && c > 32 && c < 127;
        if (!ok) throw Failure{mail::Errc::usage, "invalid --header '" + h + "' (Name: value)"};
        std::string lower = mail::ascii_lower(name);
        for (const char* own : {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "reply-to"})
            if (lower == own) throw Failure{mail::Errc::usage, "--header cannot set " + name + " (use its own option)"};
        if (lower.starts_with("content-")) throw Failure{mail::Errc::usage, "--header cannot set " + name};
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        m.headers.push_back({name, mail::mime::encode_text(value)});
    }
    m.text = read_stdin();
    m.text.resize(mail::crlf_to_lf(m.text.data(), m.text.size()));
    if (!a.html.empty()) m.html = read_input_file(a.html);
    for (auto& path : a.attach) {
        std::string name = path.substr(path.rfind('/') + 1);
        m.attachments.push_back({name, mail::mime::media_type_for(name), read_input_file(path)});
    }
    std::string message = mail::mime::build(m);
    if (a.print) {
        fmt::print("{}", message);
        return 0;
    }
    auto dir = mail::Directory::open(cfg->directory_path(), mail::Db::Access::read_only);
    if (!dir) return mail::log::error("directory", dir.error()), mail::exit_status(mail::Errc::tempfail);
    if (auto e = dir->lookup(from); !e) {
        if (e.error().code == mail::Errc::nouser)
            throw Failure{mail::Errc::nouser, from.str() + " is not one of our addresses (see mail-admin)"};
        return mail::log::error("directory", e.error()), mail::exit_status(mail::Errc::tempfail);
    }
    if (auto signed_ = mail::add_signature(message, mail::signature_for(*dir, from.str()))) message = *signed_;
    auto spool = mail::queue::Spool::open(mail::queue::spool_dir(*cfg));
    if (!spool) return mail::log::error("queue", spool.error()), mail::exit_status(mail::Errc::tempfail);
    mail::queue::Envelope env;
    env.arrived = now;
    env.sender = from.str();
    for (auto& r : envelope) env.rcpts.push_back(mail::queue::Recipient{r, "", ""});
    env.client = "mail-send uid=" + std::to_string(getuid()) + " auth=" + from.str();
    if (mail::Status st = spool->add(env, message); !st) return mail::log::error("queue", st.error()), mail::exit_status(mail::Errc::tempfail);
    mail::log::info("send.queued", "id={} from=<{}> rcpts={} size={}", env.id, env.sender, env.rcpts.size(),
                    message.size());
    fmt::print("{}\n", env.id);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Build a message (body on standard input) and queue it, or print it"};
    Args a;
    app.add_option("--config", a.config, "configuration file");
    app.add_option("--from", a.from, "sender: address or \"Name <address>\"")->required();
    app.add_option("--to", a.to, "recipient (repeatable)");
    app.add_option("--cc", a.cc, "copy (repeatable)");
    app.add_option("--bcc", a.bcc, "blind copy (repeatable; not in the header)");
    app.add_option("--subject", a.subject, "subject (UTF-8)");
    app.add_option("--attach", a.attach, "file to attach (repeatable)");
    app.add_option("--html", a.html, "HTML version of the body, from a file");
    app.add_option("--reply-to", a.reply_to, "Reply-To address");
    app.add_option("--header", a.headers, "extra header 'Name: value' (repeatable)");
    app.add_flag("--print", a.print, "write the message to standard output instead of queueing it");
    return mail::run_tool("mail-send", app, argc, argv, [&] {
        try {
            return send(a);
        } catch (const Failure& f) {
            fmt::print(stderr, "mail-send: {}\n", f.text);
            return mail::exit_status(f.code);
        }
    });
}
