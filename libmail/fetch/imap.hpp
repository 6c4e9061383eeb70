// The IMAP client of mail-fetch (RFC 3501/9051, and IDLE, UIDPLUS,
// SASL-IR, SPECIAL-USE as the server offers them). Only what the
// aggregator needs: log in, list, select, fetch by UID, delete, idle.
// Responses are read into a buffer with their literals inline and parsed
// by parse_response() (pure, fuzzed); a message body literal is streamed
// to a sink instead, never held whole in memory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "fetch/connection.hpp"
#include "imap/syntax.hpp"

namespace mail::fetch::imap {

// A response item (shared IMAP syntax, imap/syntax.hpp).
using Value = ::mail::imap::Value;

struct Response {
    std::string tag;         // "*" untagged, "+" continuation, or the command's tag
    std::string status;      // OK, NO, BAD, BYE, PREAUTH (upper case); "" for data
    std::string code;        // the [response code] of a status, without brackets
    std::string text;        // the human text of a status (or of a "+")
    std::vector<Value> data; // the items of a data response ("3", "FETCH", (...))
};

// Parse one response in wire form: lines with CRLF, literals "{n}\r\n"
// followed by their n bytes. Errors name the problem.
Result<Response> parse_response(std::string_view wire);

struct Capabilities {
    std::vector<std::string> words; // upper case
    bool has(std::string_view w) const;
};

struct ListEntry {
    std::string name; // as the server spells it (modified UTF-7)
    char delimiter = 0;
    std::vector<std::string> flags; // "\Noselect", "\Sent", ...
    bool selectable() const;
    std::string special_use() const; // "Sent", "Drafts", ... or ""
};

struct Selected {
    int64_t exists = 0, uidvalidity = 0, uidnext = 0;
};

// One message of a UID FETCH: its attributes; the body went to the sink.
struct Fetched {
    int64_t uid = 0, size = 0, internaldate = 0;
    std::vector<std::string> flags;
};

// Receives a message body: begin(size), data in pieces, then the caller
// learns its attributes when the FETCH response ends.
class BodySink {
  public:
    virtual ~BodySink() = default;
    virtual Status begin(int64_t size) = 0;
    virtual Status data(std::string_view piece) = 0;
    // The FETCH response is complete (the body was seen when had_body).
    virtual Status done(const Fetched& m, bool had_body) = 0;
};

class Client {
  public:
    // Connect, take the greeting, negotiate TLS as the account says.
    static Result<Client> open(const Endpoint& ep);
    Client(Client&&) = default;
    ~Client();

    const Capabilities& capabilities() const { return caps_; }
    // AUTHENTICATE PLAIN when offered (with SASL-IR when it can), else
    // LOGIN. A refusal is Errc::noperm with the server's text.
    Status login(const std::string& user, const std::string& password);
    Result<std::vector<ListEntry>> list();
    Result<Selected> select(const std::string& folder, bool read_only);
    // UID and size of every message with a UID >= `from`.
    Result<std::vector<Fetched>> sizes_from(int64_t from);
    // UID, size and Message-ID of every message (after a UIDVALIDITY change).
    Result<std::vector<std::pair<Fetched, std::string>>> message_ids();
    // Bodies, flags and internal dates of `uids` (a UID set), to `sink`.
    Status fetch(const std::string& uids, BodySink& sink);
    // Flag \Deleted and expunge them (UID EXPUNGE with UIDPLUS).
    Status remove(const std::string& uids);
    // IDLE until the server reports a new message (true), or `seconds`
    // pass (false). Servers without IDLE: an error.
    Result<bool> idle(int seconds);
    void logout();

  private:
    explicit Client(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}
    // Send a command (tag added), read to its tagged response; untagged
    // responses go to `each`. A NO or BAD is an error with the server's text.
    // `continuation`: sent (once) when the server asks with "+" (SASL).
    Status command(const std::string& cmd, const std::function<Status(const Response&)>& each,
                   BodySink* sink = nullptr, bool secret = false, const std::string& continuation = {});
    Result<Response> read(BodySink* sink);
    Status starttls(const Endpoint& ep);
    Status refresh_capabilities();
    std::unique_ptr<Connection> conn_;
    Capabilities caps_;
    unsigned tag_ = 0;
    std::string last_code_; // of the last tagged OK
    bool body_seen_ = false; // the response just read streamed a body
};

using ::mail::imap::uid_set; // shared with the server (imap/syntax)
using ::mail::imap::parse_internal_date; // shared with the server (imap/syntax)
// A quoted string, or a literal+ when it cannot be quoted.
std::string astring(std::string_view s);

} // namespace mail::fetch::imap
