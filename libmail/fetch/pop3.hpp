// The POP3 client of mail-fetch (RFC 1939, CAPA and STLS of RFC 2449/2595,
// PIPELINING, SASL PLAIN of RFC 5034 when offered, else USER/PASS).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "fetch/connection.hpp"

namespace mail::fetch::pop3 {

struct Message {
    int number = 0;
    std::string uidl;
    int64_t size = 0;
};

// Undo the dot-stuffing of a multi-line response, fed line by line:
// returns false at the terminating ".". Pure (fuzzed with the parser of
// the status lines).
bool unstuff(std::string_view line, std::string& out_line);
// "+OK ..." -> true; "-ERR ..." -> false with the text; other -> error.
Result<bool> status(std::string_view line);
// One line of a UIDL answer ("n unique-id", `uidl`) or a LIST answer ("n
// size", more after a space ignored), checked: n from 1 to 999999999, a
// unique-id of 1 to 70 characters 0x21-0x7E (RFC 1939 7), a size of at
// most 18 digits. Gives number and uidl, or number and size. Pure.
Result<Message> listing_line(std::string_view line, bool uidl);

class Client {
  public:
    static Result<Client> open(const Endpoint& ep);
    Client(Client&&) = default;
    ~Client();
    // A refusal is Errc::noperm with the server's text.
    Status login(const std::string& user, const std::string& password);
    // UIDL and LIST, joined by message number.
    Result<std::vector<Message>> list();
    // RETR, the message with CRLF line ends and dots removed, in pieces.
    // Several RETRs go out together when the server has PIPELINING.
    struct Receiver {
        std::function<Status(const Message&)> start;
        std::function<Status(std::string_view piece)> data;
        std::function<Status(const Message&)> done;
    };
    Status retrieve(const std::vector<Message>& messages, const Receiver& to);
    Status remove(int number);
    // QUIT: the deletions take effect only now.
    Status quit();

  private:
    explicit Client(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}
    Result<std::string> command(const std::string& cmd, bool secret = false);
    // `counted`: the lines count against the command's byte budget (not
    // a message's, which the message size limit bounds).
    Status multiline(const std::function<Status(std::string_view)>& each, bool counted = true);
    Status capabilities();
    std::unique_ptr<Connection> conn_;
    std::vector<std::string> capa_;
    bool has(std::string_view word) const;
};

} // namespace mail::fetch::pop3
