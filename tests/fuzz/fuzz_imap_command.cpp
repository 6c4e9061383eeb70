// Fuzz the IMAP server's command parser: any bytes as a command in wire
// form; then the sequence set, FETCH item, SEARCH, RETURN and SORT parsers on its
// arguments, and SORT's base subject and date parsers on the bytes.
// A command or a clean error, never a crash.
#include <cstdint>
#include <string_view>
#include <variant>

#include "imapd/command.hpp"
#include "imapd/search.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = mail::imap::parse_command(in);
    if (auto* c = std::get_if<mail::imap::Command>(&r)) {
        if (c->tag.empty() || c->name.empty()) __builtin_trap();
        for (auto& a : c->args) {
            if (a.kind == mail::imap::Value::Kind::atom) {
                if (auto s = mail::imap::parse_sequence_set(a.text)) (void)s->contains(7, 9);
            }
            if (auto items = mail::imap::parse_fetch_items(a))
                for (auto& i : *items) (void)i.name();
        }
        (void)mail::imap::parse_search(c->args);
        for (auto& a : c->args) { // ESORT's RETURN (...) and SORT criteria at any place
            if (auto r = mail::imap::parse_return_options(a)) {
                // PARTIAL: a range of result positions, low first; never with ALL (RFC 5267 4.4)
                if (r->wants("PARTIAL") && (r->partial.first < 1 || r->partial.first > r->partial.second))
                    __builtin_trap();
                if (r->wants("PARTIAL") && r->wants("ALL")) __builtin_trap();
            }
            (void)mail::imap::parse_sort_criteria(a);
        }
    }
    (void)mail::imap::literal_at_end(in);
    // SORT's parsers of header values
    (void)mail::imap::base_subject(in);
    (void)mail::imap::header_date_time(in);
    return 0;
}
