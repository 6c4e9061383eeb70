// The SEARCH program of IMAP (RFC 3501 6.4.4, RFC 9051 6.4.4, the RETURN
// options of ESEARCH RFC 4731, SAVE of RFC 5182, MODSEQ of RFC 7162): the
// arguments of a SEARCH command become a tree of keys. Pure and bounded
// (nesting, number of keys); evaluating it is the server's work (still to
// come, issue 4).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "imapd/command.hpp"
#include "imap/syntax.hpp"

namespace mail::imap {

struct SearchKey {
    enum class Op {
        all, and_, or_, not_,
        flag,       // text: "\Seen", "\Answered", ... or a keyword; negated by not_
        recent,     // RECENT (NEW is RECENT UNSEEN, OLD is NOT RECENT)
        before, on, since,                // internal date, `number` = day (Unix time at 00:00 UTC)
        sent_before, sent_on, sent_since, // Date: header, the same
        larger, smaller,                  // RFC822.SIZE, `number`
        header,     // field (upper case) contains text ("" matches any such field)
        body, text, // the body / the whole message contains text
        sequence, uid, // `set`
        modseq,        // MODSEQ >= number
    } op = Op::all;
    std::string field, text;
    int64_t number = 0;
    SequenceSet set;
    std::vector<SearchKey> children; // and_ (any number), or_ (2), not_ (1)
};

// The RETURN options of SEARCH and SORT: ESEARCH (RFC 4731), SAVE (RFC
// 5182), and CONTEXT, UPDATE and PARTIAL of CONTEXT=SEARCH and
// CONTEXT=SORT (RFC 5267 4). CONTEXT is a hint and is not kept.
struct ReturnOptions {
    std::vector<std::string> want; // upper case, as given: MIN MAX ALL COUNT SAVE PARTIAL; "()" is ALL
    std::pair<uint32_t, uint32_t> partial{0, 0}; // PARTIAL's range, low:high (1-based result positions)
    bool update = false;                         // UPDATE: ADDTO/REMOVEFROM as the result changes
    bool wants(std::string_view w) const;
};

struct SearchProgram {
    ReturnOptions returns;            // empty want: plain SEARCH
    bool esearch = false;             // RETURN was given
    std::string charset;              // upper case; empty when not given
    SearchKey root;                   // an and_ of the keys given
};

// The arguments after SEARCH (or UID SEARCH).
Result<SearchProgram> parse_search(const std::vector<Value>& args);
// SORT's RETURN options (ESORT, RFC 5267 3): the same as SEARCH's. At
// most one of ALL and PARTIAL (RFC 5267 4.4).
Result<ReturnOptions> parse_return_options(const Value& list);

// "1-Feb-1994" -> Unix time of that day at 00:00 UTC; -1 when malformed.
int64_t parse_search_date(std::string_view s);
// The day of an RFC 5322 Date: field ("Tue, 1 Feb 1994 10:00:00 +0100"),
// as written (its time zone disregarded, as SENTON wants): Unix time of
// that day at 00:00 UTC; -1 when malformed.
int64_t header_date_day(std::string_view s);

// An RFC 5322 Date: field as Unix time (UTC, its zone applied); -1 when
// malformed. For SORT DATE.
int64_t header_date_time(std::string_view s);

// The base subject of RFC 5256 2.1 for SORT SUBJECT: encoded words decoded,
// white space collapsed, "Re:", "Fwd:", "[list]" leaders and "(fwd)"
// trailers removed, "[Fwd: ...]" unwrapped.
std::string base_subject(std::string_view subject);

// SORT criteria (RFC 5256, and DISPLAYFROM/DISPLAYTO of RFC 5957): each
// key, possibly REVERSE.
struct SortKey {
    enum class By { arrival, cc, date, from, size, subject, to, display_from, display_to } by;
    bool reverse = false;
};
Result<std::vector<SortKey>> parse_sort_criteria(const Value& v);

} // namespace mail::imap
