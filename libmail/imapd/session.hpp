// One IMAP session (RFC 3501 IMAP4rev1 with the extensions of CAPABILITY):
// reading commands with their literals (bounded), the states
// not-authenticated / authenticated / selected, and the command table.
// The mailboxes are the Maildir++ folders of the user's store
// (imapd/mailbox). The handlers live one file per group of commands, as
// Dovecot's cmd-*.c do: session.cpp (the loop, reading, dispatch),
// cmd_auth.cpp (also COMPRESS), cmd_mailbox.cpp, cmd_list.cpp,
// cmd_fetch.cpp, cmd_store.cpp (STORE, EXPUNGE, CLOSE, COPY, MOVE),
// cmd_search.cpp (SEARCH, SORT, ESORT, CONTEXT), cmd_thread.cpp, cmd_metadata.cpp
// (GETMETADATA, SETMETADATA), cmd_append.cpp and cmd_idle.cpp.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/sasl.hpp"
#include "base/config.hpp"
#include "directory/directory.hpp"
#include "imapd/thread.hpp"
#include "imapd/command.hpp"
#include "imapd/mailbox.hpp"
#include "imapd/search.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"
#include "store/index.hpp"
#include "store/maildir.hpp"

namespace mail::imap {

constexpr size_t max_command = 64 * 1024; // a command's line and literals (APPEND's message aside)
constexpr unsigned login_timeout = 60;    // seconds, before authentication
constexpr unsigned idle_timeout = 30 * 60; // after: RFC 3501 5.4 says at least 30 minutes
constexpr int max_bad_commands = 20;
constexpr int full_scan_interval = 2; // seconds

class Session {
  public:
    // The session owns the directory: it closes it after the login, as
    // it does auth.sqlite, so that thousands of idle sessions stay small.
    Session(const Config& cfg, Directory dir, net::Stream& io, const net::Peer& peer,
            const net::TlsOptions& tls);
    int run();

    enum class State { not_authenticated, authenticated, selected, logout };
    // The states a command is valid in.
    class States {
      public:
        constexpr States(std::initializer_list<State> s) {
            for (State x : s) bits_ |= 1u << static_cast<unsigned>(x);
        }
        constexpr bool has(State s) const { return bits_ & (1u << static_cast<unsigned>(s)); }

      private:
        unsigned bits_ = 0;
    };
    // What the dispatcher and the responses need to know of a command.
    enum Flag : unsigned {
        takes_uid = 1,      // may follow "UID" (RFC 3501 6.4.8, UIDPLUS, MOVE, SORT)
        keeps_numbers = 2,  // no EXPUNGE while it runs, unless as UID ... (RFC 3501 7.4.1)
        reads_message = 4,  // its message literal is read by the handler as it arrives (APPEND)
        polls = 8,          // a poll (NOOP, CHECK): the folder's files are looked at, not only the index
    };
    struct CommandSpec {
        const char* name;
        void (Session::*handler)(const Command& c);
        States states;
        unsigned flags;
    };
    static const CommandSpec commands[];
    static const CommandSpec* find_command(std::string_view name);
    struct StoreRequest; // cmd_store.cpp

  private:
    bool read_command(std::string& wire);
    bool read_literal(std::string& wire, uint64_t size);
    void dispatch(const Command& c);
    void ok(const Command& c, std::string_view text);
    // The first CONDSTORE-enabling command (FETCH MODSEQ, SEARCH MODSEQ, STORE
    // UNCHANGEDSINCE, STATUS HIGHESTMODSEQ) in a mailbox selected without
    // CONDSTORE tells its HIGHESTMODSEQ in an untagged OK (RFC 7162 3.1).
    void enable_condstore();
    void no(const Command& c, std::string_view text);
    void bad(const Command& c, std::string_view text);
    void fail(const Command& c, const Error& e); // logged; NO [SERVERBUG]/[UNAVAILABLE]
    bool secure() const;
    std::string capabilities() const;
    // Announce what changed in the selected mailbox (EXPUNGE only when
    // allowed). Every facteur program records its changes in the index,
    // which is read each time; the folder's files (for what other Maildir
    // tools did) are listed again only on a poll or when the last listing
    // is older than full_scan_interval, as Dovecot's "fast sync" does.
    void sync_selected(bool allow_expunge, bool poll = true);
    // Messages of a sequence set (UIDs with `uid`); false and BAD when malformed.
    bool resolve(const Command& c, const Value& v, bool uid, std::vector<size_t>& seqs);
    std::optional<std::string> mailbox_arg(const Command& c, const Value& v); // NO/BAD sent when nullopt
    std::string shown(const std::string& stored) const;         // a mailbox name as the client sees it
    std::string mailbox_value(const std::string& stored) const; // ... as a string of a response
    void login(const Command& c, const std::string& user, const std::string& password);
    void select(const Command& c, bool read_write);
    Status qresync_report(const struct Qresync& q);
    Status set_flags(Msg& m, const std::string& letters, const std::string& keywords);
    void fetch(const Command& c, const std::vector<size_t>& seqs, const std::vector<FetchItem>& items);
    bool send_body(const Msg& m, const FetchItem& item, std::string& line);
    void copy(const Command& c, bool move);
    void subscribe(const Command& c, bool on);
    Result<std::set<std::string>> subscribed_names(const std::vector<std::string>& folders);
    static bool status_item(const Value& v);
    Result<std::string> status_data(const std::string& name, const std::vector<Value>& items);
    Result<std::vector<size_t>> search(SearchProgram& p);
    Result<std::vector<size_t>> sort_found(const std::vector<size_t>& found, const std::vector<SortKey>& keys);
    // RFC 5267 contexts (cmd_search.cpp): follow a search given UPDATE,
    // refuse a tag in use, tell the changes of the results.
    void follow(const Command& c, const SearchProgram& p, const std::vector<SortKey>& sort,
                const std::vector<size_t>& found);
    bool tag_in_use(const Command& c);
    std::array<int64_t, 4> view_mark() const;
    void update_contexts();
    Result<std::map<const SearchKey*, std::set<int64_t>>> text_matches(const SearchKey& root);
    void append_message(const Command& c, LiteralMark lit, bool utf8_data);
    // The state of one command's work, each defined beside its command.
    struct Append;
    struct CopyBatch;
    struct FetchPlan;
    Status fetch_one(size_t seq, const FetchPlan& plan, const CacheRow* row, std::optional<Transaction>& tx);
    Status copy_one(const Msg& m, CopyBatch& b);
    Result<std::string> store_one(const Command& c, size_t seq, const StoreRequest& r, std::vector<int64_t>& modified);
    void append_fail(Append& a, std::string_view kind, std::string_view text, bool pending_literal);
    bool skip_literals(LiteralMark lit);
    bool append_one(Append& a, const std::vector<Value>& spec);
    bool read_append_literal(Append& a, maildir::MessageFile& file, std::string& head);
    void append_commit(Append& a);

    void cmd_capability(const Command& c);
    void cmd_noop(const Command& c);
    void cmd_logout(const Command& c);
    void cmd_starttls(const Command& c);
    void cmd_login(const Command& c);
    void cmd_authenticate(const Command& c);
    void cmd_id(const Command& c);
    void cmd_compress(const Command& c);
    void cmd_getmetadata(const Command& c); // cmd_metadata.cpp
    void cmd_setmetadata(const Command& c);
    // GETMETADATA's and SETMETADATA's mailbox: "" for the server, else an
    // existing mailbox; nullopt when the command was answered (BAD, NO).
    std::optional<std::string> metadata_target(const Command& c, const Value& v);
    void cmd_enable(const Command& c);
    void cmd_namespace(const Command& c);
    void cmd_select(const Command& c);
    void cmd_examine(const Command& c);
    void cmd_create(const Command& c);
    void cmd_delete(const Command& c);
    void cmd_rename(const Command& c);
    void cmd_subscribe(const Command& c);
    void cmd_unsubscribe(const Command& c);
    void cmd_list(const Command& c);
    void cmd_lsub(const Command& c);
    void cmd_status(const Command& c);
    void cmd_check(const Command& c);
    void cmd_close(const Command& c);
    void cmd_unselect(const Command& c);
    void cmd_expunge(const Command& c);
    void cmd_search(const Command& c);
    void cmd_sort(const Command& c);
    void cmd_cancelupdate(const Command& c);
    void cmd_thread(const Command& c);
    // The search keys after SORT's or THREAD's first argument and charset;
    // nullopt when the command was answered (BAD, NO [BADCHARSET]).
    // (after `first` arguments: SORT's RETURN (...) for ESORT)
    std::optional<SearchProgram> charset_search(const Command& c, size_t first = 0);
    Result<std::vector<ThreadMessage>> thread_messages(const std::vector<size_t>& found, bool uid, bool references);
    void cmd_fetch(const Command& c);
    void cmd_store(const Command& c);
    void cmd_copy(const Command& c);
    void cmd_move(const Command& c);
    void cmd_idle(const Command& c);
    void cmd_getquotaroot(const Command& c);
    void cmd_getquota(const Command& c);
    void cmd_setquota(const Command& c);
    void quota_response();

    const Config& cfg_;
    std::optional<Directory> dir_;
    net::Stream& io_;
    net::Peer peer_;
    net::TlsOptions tls_options_;
    LoginPenalty penalty_;
    net::LazyTls tls_;
    State state_ = State::not_authenticated;
    std::string user_, root_;
    uint64_t quota_ = 0;
    std::optional<MailboxIndex> index_;
    std::optional<Selected> sel_;
    std::vector<int64_t> saved_; // SEARCH RETURN (SAVE) result, as UIDs
    std::array<int64_t, 4> contexts_mark_{}; // view_mark() when the contexts were last brought up to date
    bool condstore_ = false;     // RFC 7162: MODSEQ in FETCH responses (enabled by its first use)
    bool qresync_ = false;       // RFC 7162: VANISHED instead of EXPUNGE (ENABLE QRESYNC)
    bool utf8_ = false;          // RFC 6855 UTF8=ACCEPT: mailbox names and strings in UTF-8
    bool rev2_ = false;          // ENABLE IMAP4rev2 (RFC 9051): no \Recent, ESEARCH only, UTF-8 names
    int errors_ = 0;
    bool unknown_cte_ = false; // FETCH BINARY met an unknown transfer encoding
};

} // namespace mail::imap
