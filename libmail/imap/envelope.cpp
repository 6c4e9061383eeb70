#include "envelope.hpp"

#include "imap/syntax.hpp"
#include "message/address.hpp"
#include "message/header.hpp"

namespace mail::imap {

namespace {

std::string address_list(const std::optional<std::string>& value) {
    if (!value) return "NIL";
    auto list = read_address_list(*value);
    if (list.empty()) return "NIL";
    std::string out = "(";
    for (auto& a : list) {
        switch (a.kind) {
        case ListedAddress::Kind::group_start:
            out += "(NIL NIL " + string_value(a.name) + " NIL)";
            break;
        case ListedAddress::Kind::group_end: out += "(NIL NIL NIL NIL)"; break;
        case ListedAddress::Kind::mailbox:
            out += "(" + nstring(a.name, a.has_name) + " " + nstring(a.route, !a.route.empty()) + " " +
                   string_value(a.local) + " " + nstring(a.domain, a.has_domain) + ")";
            break;
        }
    }
    return out + ")";
}

} // namespace

std::string field_nstring(const Header& h, std::string_view name) {
    auto v = h.get(name);
    return nstring(v ? *v : "", v.has_value());
}

std::string envelope(const Header& h) {
    auto field = [&](const char* name) { return field_nstring(h, name); };
    auto from = h.get("From");
    auto sender = h.get("Sender");
    auto reply_to = h.get("Reply-To");
    std::string out = "(" + field("Date") + " " + field("Subject") + " " + address_list(from) + " ";
    out += address_list(sender && !read_address_list(*sender).empty() ? sender : from) + " ";
    out += address_list(reply_to && !read_address_list(*reply_to).empty() ? reply_to : from) + " ";
    out += address_list(h.get("To")) + " " + address_list(h.get("Cc")) + " " + address_list(h.get("Bcc")) + " ";
    out += field("In-Reply-To") + " " + field("Message-ID") + ")";
    return out;
}

} // namespace mail::imap
