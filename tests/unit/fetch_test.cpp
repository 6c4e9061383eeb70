#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <unistd.h>

#include "fetch/imap.hpp"
#include "fetch/pop3.hpp"
#include "fetch/schedule.hpp"
#include "fetch/state.hpp"
#include "fetch/sync.hpp"

using namespace mail::fetch;
using mail::Errc;

TEST(ImapResponse, FetchWithLiteralFlagsAndSection) {
    std::string wire = "* 12 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
                       "RFC822.SIZE 44 BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\nMessage-ID: <a@b>\r\n\r\n)\r\n";
    auto r = imap::parse_response(wire);
    ASSERT_TRUE(r) << r.error().user;
    EXPECT_EQ(r->tag, "*");
    ASSERT_EQ(r->data.size(), 3u);
    EXPECT_TRUE(r->data[1].is("fetch"));
    auto& items = r->data[2].items;
    ASSERT_EQ(items.size(), 10u);
    EXPECT_EQ(items[1].text, "7");
    ASSERT_EQ(items[3].items.size(), 2u);
    EXPECT_EQ(items[3].items[0].text, "\\Seen");
    EXPECT_EQ(items[5].kind, imap::Value::Kind::string);
    EXPECT_EQ(items[8].text, "BODY[HEADER.FIELDS (MESSAGE-ID)]");
    EXPECT_EQ(items[9].text, "Message-ID: <a@b>\r\n\r\n");
}

TEST(ImapResponse, StatusCodesAndText) {
    auto r = imap::parse_response("F3 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tag, "F3");
    EXPECT_EQ(r->status, "NO");
    EXPECT_EQ(r->code, "AUTHENTICATIONFAILED");
    EXPECT_EQ(r->text, "Authentication failed.");
    r = imap::parse_response("* OK [UIDVALIDITY 1700000000] UIDs valid (and \"text\" with ( unbalanced\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "UIDVALIDITY 1700000000");
    r = imap::parse_response("+ idling\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->tag, "+");
    EXPECT_EQ(r->text, "idling");
    r = imap::parse_response("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->data.size(), 4u);
    EXPECT_EQ(r->data[3].text, "Sent Items");
    EXPECT_EQ(r->data[2].text, "/");
    r = imap::parse_response("* LIST () NIL INBOX\r\n");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->data[2].nil());
}

TEST(ImapResponse, MalformedIsAnErrorNotACrash) {
    for (const char* bad : {"", "* 1 FETCH (UID 1\r\n", "* 1 FETCH {5}\r\nab", "* \"unterminated\r\n",
                            "* 1 FETCH (BODY[HEADER {3}\r\nabc\r\n", "F1 UNKNOWN thing\r\n", "* {x}\r\n",
                            "* {99999999999999999999}\r\n"}) {
        auto r = imap::parse_response(bad);
        EXPECT_FALSE(r) << bad;
    }
    std::string deep = "* X " + std::string(1000, '(') + std::string(1000, ')') + "\r\n";
    EXPECT_FALSE(imap::parse_response(deep));
}

TEST(ImapHelpers, UidSetAndDates) {
    EXPECT_EQ(imap::uid_set({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
    EXPECT_EQ(imap::uid_set({4}), "4");
    EXPECT_EQ(imap::uid_set({}), "");
    EXPECT_EQ(imap::parse_internal_date("17-Jul-1996 02:44:25 -0700"), 837596665);
    EXPECT_EQ(imap::parse_internal_date(" 1-Jan-1970 00:00:00 +0000"), 0);
    EXPECT_EQ(imap::parse_internal_date("01-Feb-2024 10:00:00 +0100"), 1706778000);
    EXPECT_EQ(imap::parse_internal_date("garbage"), 0);
    EXPECT_EQ(imap::astring("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(FetchFolders, RemoteNamesBecomeSafeLocalOnes) {
    auto e = [](std::string name, char delim, std::vector<std::string> flags = {}) {
        imap::ListEntry x;
        x.name = std::move(name), x.delimiter = delim, x.flags = std::move(flags);
        return x;
    };
    EXPECT_EQ(local_folder(e("INBOX", '/'), ""), "INBOX");
    EXPECT_EQ(local_folder(e("INBOX", '/'), "Old"), "Old");
    EXPECT_EQ(local_folder(e("Sent Messages", '/', {"\\HasNoChildren", "\\Sent"}), ""), "Sent");
    EXPECT_EQ(local_folder(e("Sent Messages", '/', {"\\Sent"}), "Old"), "Old/Sent");
    EXPECT_EQ(local_folder(e("Work/Clients", '/'), ""), "Work/Clients");
    EXPECT_EQ(local_folder(e("INBOX.Work.Clients", '.'), ""), "Work/Clients");
    EXPECT_EQ(local_folder(e("a.b/c", '/'), ""), "a_b/c");
    EXPECT_EQ(local_folder(e("../../etc", '/'), ""), "__/__/etc");
    EXPECT_EQ(local_folder(e("x//y", '/'), ""), "x/_/y");
    EXPECT_EQ(local_folder(e("new", '/'), ""), "_new");
    EXPECT_EQ(local_folder(e("~root", '/'), ""), "_~root");
    EXPECT_EQ(local_folder(e("/abs", '/'), ""), "_/abs");
    EXPECT_TRUE(e("A", '/', {"\\Noselect"}).selectable() == false);
}

TEST(FetchHealth, BackoffAndDisabling) {
    AccountHealth h;
    RunResult fail;
    fail.status = mail::make_error(Errc::tempfail, "connection refused");
    h = after_run(h, fail, 1000, 1001, 3600, 3);
    EXPECT_EQ(h.failures, 1);
    EXPECT_EQ(h.next_try, 1001 + 60);
    h = after_run(h, fail, 2000, 2000, 3600, 3);
    EXPECT_EQ(h.next_try, 2000 + 120);
    for (int i = 0; i < 10; i++) h = after_run(h, fail, 3000, 3000, 3600, 3);
    EXPECT_EQ(h.next_try, 3000 + 3600);
    EXPECT_TRUE(h.disabled.empty());
    EXPECT_EQ(h.first_sync, 0);
    RunResult refused;
    refused.status = mail::make_error(Errc::noperm, "LOGIN answered NO [AUTHENTICATIONFAILED] nope");
    h = after_run(h, refused, 4000, 4000, 3600, 3);
    h = after_run(h, refused, 4100, 4100, 3600, 3);
    EXPECT_TRUE(h.disabled.empty());
    h = after_run(h, refused, 4200, 4200, 3600, 3);
    EXPECT_EQ(h.auth_failures, 3);
    EXPECT_NE(h.disabled.find("AUTHENTICATIONFAILED"), std::string::npos);
    RunResult ok;
    h.disabled.clear();
    h = after_run(h, ok, 5000, 5010, 3600, 3);
    EXPECT_EQ(h.failures, 0);
    EXPECT_EQ(h.first_sync, 5000);
    EXPECT_EQ(h.last_success, 5010);
    EXPECT_EQ(h.next_try, 0);
    h = after_run(h, ok, 6000, 6000, 3600, 3);
    EXPECT_EQ(h.first_sync, 5000); // the first one stays
}

TEST(FetchState, KeysProgressAndPrune) {
    char dir[] = "/tmp/fetchstateXXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    {
        auto st = State::open(dir);
        ASSERT_TRUE(st);
        ASSERT_TRUE(st->set_folder(1, "INBOX", {77, 0}));
        ASSERT_TRUE(st->set_in_flight(1, "INBOX"));
        EXPECT_TRUE(*st->in_flight(1, "INBOX"));
        EXPECT_FALSE(*st->in_flight(1, "Work"));
        ASSERT_TRUE(st->delivered(1, "INBOX", {message_key("<a@b>", 10)}, 5, 9));
        EXPECT_FALSE(*st->in_flight(1, "INBOX"));
        ASSERT_TRUE(st->delivered(1, "INBOX", {message_key("<c@d>", 20)}, 3, 19));
        auto f = st->folder(1, "INBOX");
        ASSERT_TRUE(f);
        EXPECT_EQ(f->uidvalidity, 77);
        EXPECT_EQ(f->last_uid, 5); // never goes back
        auto h = st->health(1);
        EXPECT_EQ(h->fetched, 2);
        EXPECT_EQ(h->bytes, 28);
        EXPECT_EQ(st->keys(1, "INBOX")->size(), 2u);
        ASSERT_TRUE(st->delivered(1, "", {"uidl-1", "uidl-2"}, 0, 2));
        ASSERT_TRUE(st->prune(1, "", {"uidl-2"}));
        auto keys = st->keys(1, "");
        EXPECT_EQ(*keys, (std::unordered_set<std::string>{"uidl-2"}));
        ASSERT_TRUE(st->forget(1));
        EXPECT_EQ(st->health(1)->fetched, 0);
        EXPECT_TRUE(st->keys(1, "INBOX")->empty());
    }
    std::string cmd = std::string("rm -rf ") + dir;
    ASSERT_EQ(system(cmd.c_str()), 0);
}

TEST(Pop3Client, StatusAndUnstuffing) {
    EXPECT_TRUE(*pop3::status("+OK fine"));
    EXPECT_FALSE(*pop3::status("-ERR [AUTH] no"));
    EXPECT_FALSE(pop3::status("* OK imap?").ok());
    std::string out;
    EXPECT_TRUE(pop3::unstuff("..leading", out));
    EXPECT_EQ(out, ".leading");
    EXPECT_TRUE(pop3::unstuff("plain", out));
    EXPECT_EQ(out, "plain");
    EXPECT_FALSE(pop3::unstuff(".", out));
}

TEST(Pop3Client, ListingLines) {
    struct Case {
        const char* line;
        bool uidl;
        bool ok;
        int number;
        int64_t size;
        const char* uid;
    };
    const Case cases[] = {
        {"1 uid-1", true, true, 1, 0, "uid-1"},
        {"2 4000", false, true, 2, 4000, ""},
        {"3 120 extra words", false, true, 3, 120, ""},
        {"0 x", true, false, 0, 0, ""},             // numbers start at 1
        {"-1 x", true, false, 0, 0, ""},            // not digits
        {"1", true, false, 0, 0, ""},               // no unique-id
        {"1 a b", true, false, 0, 0, ""},           // a space inside the unique-id
        {"1 !~", true, true, 1, 0, "!~"},           // 0x21-0x7E, as written
        {"1 \x01", true, false, 0, 0, ""},          // a control byte
        {"1 12x", false, false, 0, 0, ""},          // a size that is not digits
        {"1 9999999999999999999", false, false, 0, 0, ""}, // over 18 digits
        {"1234567890 5", false, false, 0, 0, ""},   // over 9 digits
    };
    for (auto& c : cases) {
        auto m = pop3::listing_line(c.line, c.uidl);
        EXPECT_EQ(m.ok(), c.ok) << c.line;
        if (!m || !c.ok) continue;
        EXPECT_EQ(m->number, c.number) << c.line;
        EXPECT_EQ(m->size, c.size) << c.line;
        EXPECT_EQ(m->uidl, c.uid) << c.line;
    }
    EXPECT_FALSE(pop3::listing_line(std::string("1 ") + std::string(71, 'u'), true).ok());
}

TEST(FetchFolders, LongNamesAreCutAtALevel) {
    imap::ListEntry e;
    e.delimiter = '/';
    e.name = std::string(150, 'a') + "/" + std::string(49, 'b') + "/" + std::string(80, 'c');
    std::string local = local_folder(e, "");
    EXPECT_LE(local.size(), 200u);
    EXPECT_NE(local.back(), '/');
    e.name = std::string(300, '/');
    local = local_folder(e, "Old/Inner");
    EXPECT_NE(local.back(), '/');
}

TEST(FetchFolders, ACutLevelIsNeverAReservedName) {
    imap::ListEntry e;
    e.delimiter = '/';
    e.name = std::string(196, 'a') + "/newsletters";
    EXPECT_EQ(local_folder(e, ""), std::string(196, 'a') + "/_new");
}

namespace {

mail::FetchAccount account(int64_t id, std::string address, std::string protocol = "imap",
                           std::vector<std::string> folders = {"INBOX"}) {
    mail::FetchAccount a;
    a.id = id;
    a.address = std::move(address);
    a.protocol = std::move(protocol);
    a.folders = std::move(folders);
    a.interval = 300;
    return a;
}

// Health kept in a map, as State would give it.
struct Healths {
    std::map<int64_t, AccountHealth> by_id;
    HealthOf of() {
        return [this](int64_t id) -> mail::Result<AccountHealth> { return by_id[id]; };
    }
};

std::vector<int64_t> ids_of(const std::vector<mail::FetchAccount>& v) {
    std::vector<int64_t> out;
    for (auto& a : v) out.push_back(a.id);
    return out;
}

} // namespace

TEST(FetchSchedule, OncePassSkipsDisabledAndWaitingUnlessNamed) {
    std::vector<mail::FetchAccount> all = {account(1, "a@x"), account(2, "b@x"), account(3, "c@x"), account(4, "A@x")};
    all[2].enabled = false;
    Healths h;
    h.by_id[2].next_try = 2000; // waiting after failures
    h.by_id[4].disabled = "3 refused logins";
    std::vector<Skip> skipped;
    auto r = pass_accounts(all, {}, {}, h.of(), 1000, &skipped);
    ASSERT_TRUE(r);
    EXPECT_EQ(ids_of(*r), (std::vector<int64_t>{1}));
    ASSERT_EQ(skipped.size(), 2u);
    EXPECT_EQ(skipped[0].account.id, 2);
    EXPECT_FALSE(skipped[0].disabled);
    EXPECT_EQ(skipped[1].account.id, 4);
    EXPECT_TRUE(skipped[1].disabled);
    // Named, a waiting account runs now; a disabled one still does not.
    r = pass_accounts(all, {"B@X"}, {4}, h.of(), 1000, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(ids_of(*r), (std::vector<int64_t>{2}));
    // The address matches case-insensitively: a@x names accounts 1 and 4.
    r = pass_accounts(all, {"a@x"}, {}, h.of(), 1000, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(ids_of(*r), (std::vector<int64_t>{1}));
}

TEST(FetchSchedule, UnknownNamesAreNoUser) {
    std::vector<mail::FetchAccount> all = {account(1, "a@x")};
    Healths h;
    auto r = pass_accounts(all, {}, {9}, h.of(), 0, nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::nouser);
    r = pass_accounts(all, {"nobody@x"}, {}, h.of(), 0, nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::nouser);
}

TEST(FetchSchedule, HealthTroubleEndsAOncePass) {
    std::vector<mail::FetchAccount> all = {account(1, "a@x")};
    HealthOf broken = [](int64_t) -> mail::Result<AccountHealth> { return mail::make_error(Errc::tempfail, "busy"); };
    auto r = pass_accounts(all, {}, {}, broken, 0, nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::tempfail);
}

TEST(FetchSchedule, DaemonCapsIdleAndPlainRunsAndWaitsAnInterval) {
    // Two IMAP accounts with INBOX (can IDLE), one POP3, one IMAP without INBOX.
    std::vector<mail::FetchAccount> all = {account(1, "a@x"), account(2, "b@x"), account(3, "c@x", "pop3", {}),
                                           account(4, "d@x", "imap", {"Archive"}), account(5, "e@x", "imap", {"*"})};
    Healths h;
    Schedule s(/*max_parallel=*/2, /*max_idle=*/1);
    auto starts = s.to_start(all, {}, h.of(), 1000);
    ASSERT_EQ(starts.size(), 3u);
    EXPECT_EQ(starts[0].account.id, 1);
    EXPECT_TRUE(starts[0].idle);
    EXPECT_EQ(starts[0].idle_seconds, 300);
    EXPECT_EQ(starts[1].account.id, 2); // IDLE slots taken: a plain run
    EXPECT_FALSE(starts[1].idle);
    EXPECT_EQ(starts[1].idle_seconds, 0);
    EXPECT_EQ(starts[2].account.id, 3);
    std::vector<Running> running = {{1, 0, true}, {2, 0, false}, {3, 0, false}};
    // Full: nothing more starts until a plain run ends.
    EXPECT_TRUE(s.to_start(all, running, h.of(), 1001).empty());
    running.pop_back();
    starts = s.to_start(all, running, h.of(), 1002);
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0].account.id, 4);
    // Accounts that ran wait one interval.
    starts = s.to_start(all, {}, h.of(), 1299);
    ASSERT_EQ(starts.size(), 1u); // only 5, never started yet: all folders, so IDLE
    EXPECT_EQ(starts[0].account.id, 5);
    EXPECT_TRUE(starts[0].idle);
    starts = s.to_start(all, {{5, 0, true}}, h.of(), 1300);
    ASSERT_EQ(starts.size(), 2u); // 1, 2 and 3 are due again, two plain runs at once
    EXPECT_EQ(starts[0].account.id, 1);
    EXPECT_FALSE(starts[0].idle); // 5 holds the one IDLE session
    EXPECT_EQ(starts[1].account.id, 2);
}

TEST(FetchSchedule, DaemonLeavesUnhealthyAccountsAndStopsChangedOnes) {
    std::vector<mail::FetchAccount> all = {account(1, "a@x"), account(2, "b@x"), account(3, "c@x")};
    Healths h;
    h.by_id[1].disabled = "refused";
    h.by_id[2].next_try = 5000;
    Schedule s(4, 0);
    auto starts = s.to_start(all, {}, h.of(), 1000);
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0].account.id, 3);
    EXPECT_FALSE(starts[0].idle); // max_idle 0: no IDLE at all
    all[2].updated = 77;          // changed with mail-admin while it runs
    std::vector<Running> running = {{3, 0, false}, {9, 0, false}}; // 9: removed
    auto stop = s.to_stop(all, running);
    EXPECT_EQ(stop, (std::vector<int64_t>{3, 9}));
    // A changed account starts again at once, with its new settings.
    starts = s.to_start(all, {}, h.of(), 1001);
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0].account.updated, 77);
    all[2].enabled = false;
    EXPECT_EQ(s.to_stop(all, {{3, 77, false}}), (std::vector<int64_t>{3}));
}
