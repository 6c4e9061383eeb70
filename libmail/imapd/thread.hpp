// THREAD (RFC 5256): the ORDEREDSUBJECT and REFERENCES algorithms over
// facts already taken from the messages, and the response's nesting.
// Pure: no I/O, so that it is unit-tested and fuzzed on its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::imap {

struct ThreadMessage {
    int64_t number = 0;              // what the response shows: sequence number or UID
    int64_t date = 0;                // the sent date (Date:, else the internal date)
    std::string subject;             // the base subject's i;unicode-casemap key
    bool reply = false;              // its subject had Re:/Fwd: taken off
    std::string message_id;          // "<a@b>", "" when it has none
    std::vector<std::string> parents; // References (or In-Reply-To), oldest first
};

struct ThreadNode {
    int64_t number = 0; // 0: a message that is referred to but not here (a dummy)
    std::vector<ThreadNode> children;
};

std::vector<ThreadNode> thread_orderedsubject(std::vector<ThreadMessage> msgs);
std::vector<ThreadNode> thread_references(const std::vector<ThreadMessage>& msgs);

// "(3 6 (4 23)(44 7 96))..." : a node's only child follows it, several
// children each get their parentheses (RFC 5256 4).
std::string format_threads(const std::vector<ThreadNode>& roots);

// The message-ids of a References or In-Reply-To field, "<...>" each, in
// order, at most 1000.
std::vector<std::string> message_ids(std::string_view field);

// Whether a subject starts with a reply or forward marker (Re:, Fwd:, Fw:,
// after blobs such as "[list]"): ORDEREDSUBJECT's and REFERENCES' test.
bool is_reply_subject(std::string_view subject);

} // namespace mail::imap
