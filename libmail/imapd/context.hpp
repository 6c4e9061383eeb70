// Search contexts (RFC 5267 4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH
// or SORT given RETURN (UPDATE) is followed while its mailbox stays
// selected, and each change of its result is told as ADDTO and REMOVEFROM
// data of an ESEARCH response. Pure: what to say is computed from the
// result as last told and the result now; the session runs the search.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "imapd/search.hpp"

namespace mail::imap {

constexpr size_t max_contexts = 8; // per session; more get NO [NOUPDATE]

struct SearchContext {
    std::string tag;  // of the searching command: the responses' correlator
    bool uid = false; // UID SEARCH / UID SORT: results as UIDs, else as sequence numbers
    SearchProgram program;
    std::vector<SortKey> sort;   // empty: a SEARCH, whose results are in mailbox order
    std::vector<int64_t> saved;  // "$" (RFC 5182) as it was when the context was made
    std::vector<int64_t> result; // UIDs, in the context's order, as last told
};

// How a UID is shown in this context's responses (its UID or its
// sequence number at the moment).
using ShowUid = std::function<int64_t(int64_t uid)>;

// The REMOVEFROM data item ("REMOVEFROM (0 3:4)", "" when nothing goes)
// for the UIDs of `gone` in the context's result, which loses them. A
// SEARCH context uses position 0; a SORT context the position of each
// run of consecutive results, as the client's list stands when it reaches
// the pair (RFC 5267 4.3.4).
std::string remove_from(SearchContext& ctx, const std::set<int64_t>& gone, const ShowUid& show);

// The data items that take the context from its result to `now` (UIDs in
// the context's order): REMOVEFROM for what left it, then ADDTO for what
// joined it, positions as RFC 5267 4.3.3 counts them; "" when the result is
// the same. The context's result becomes `now`.
std::string result_changes(SearchContext& ctx, const std::vector<int64_t>& now, const ShowUid& show);

} // namespace mail::imap
