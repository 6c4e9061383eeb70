#include "envelope.hpp"

#include <charconv>

namespace mail::queue {

namespace {

constexpr std::string_view magic = "facteur-queue 1";

Error bad(std::string what) { return make_error(Errc::data, "bad queue file: " + what); }

// "key=value key=value" (or tab-separated) -> value of key ("" when absent)
std::string field(std::string_view s, std::string_view key) {
    while (!s.empty()) {
        size_t sp = s.find_first_of(" \t");
        std::string_view w = s.substr(0, sp);
        if (w.size() > key.size() && w.substr(0, key.size()) == key && w[key.size()] == '=')
            return std::string(w.substr(key.size() + 1));
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return "";
}

bool clean(std::string_view s) { return s.find_first_of("\t\r\n") == std::string_view::npos; }

} // namespace

std::string format_envelope(const Envelope& e) {
    std::string s = std::string(magic) + "\n";
    s += "id " + e.id + "\narrived " + std::to_string(e.arrived) + "\nfrom\t" + e.sender + "\n";
    if (!e.ret.empty() || !e.envid.empty()) s += "dsn ret=" + e.ret + " envid=" + e.envid + "\n";
    if (!e.body.empty() || e.smtputf8)
        s += "mail body=" + e.body + " smtputf8=" + (e.smtputf8 ? "yes" : "no") + "\n";
    for (auto& r : e.rcpts) {
        s += "rcpt\t" + r.address;
        if (!r.notify.empty()) s += "\tnotify=" + r.notify;
        if (!r.orcpt.empty()) s += "\torcpt=" + r.orcpt;
        s += "\n";
    }
    if (!e.client.empty()) s += "client " + e.client + "\n";
    return s + "\n";
}

Result<Envelope> parse_envelope(std::string_view file, size_t& body) {
    std::string_view s = file.substr(0, max_envelope);
    size_t end = s.find("\n\n");
    if (end == std::string_view::npos) return bad("no end of envelope");
    body = end + 2;
    s = s.substr(0, end + 1);
    Envelope e;
    bool first = true, have_from = false;
    while (!s.empty()) {
        size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s.remove_prefix(nl + 1);
        if (first) {
            if (line != magic) return bad("unknown version");
            first = false;
            continue;
        }
        size_t sp = line.find_first_of(" \t");
        std::string_view key = line.substr(0, sp);
        std::string_view val = sp == std::string_view::npos ? "" : line.substr(sp + 1);
        if (key == "id") e.id = val;
        else if (key == "arrived") std::from_chars(val.begin(), val.end(), e.arrived);
        else if (key == "from") e.sender = val, have_from = true;
        else if (key == "dsn") e.ret = field(val, "ret"), e.envid = field(val, "envid");
        else if (key == "client") e.client = val;
        else if (key == "mail") e.body = field(val, "body"), e.smtputf8 = field(val, "smtputf8") == "yes";
        else if (key == "rcpt") {
            size_t a = val.find('\t');
            Recipient r{std::string(val.substr(0, a)), field(val, "notify"), field(val, "orcpt")};
            if (r.address.empty() || !clean(r.address)) return bad("empty recipient");
            e.rcpts.push_back(std::move(r));
        }
        // Unknown keys are skipped: a newer writer may add fields.
    }
    if (e.id.empty() || !have_from || e.rcpts.empty() || !clean(e.sender))
        return bad("missing id, sender or recipients");
    return e;
}

} // namespace mail::queue
