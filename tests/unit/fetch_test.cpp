#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

#include "fetch/imap.hpp"
#include "fetch/pop3.hpp"
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
                            "* 1 FETCH (BODY[HEADER {3}\r\nabc)\r\n", "F1 UNKNOWN thing\r\n", "* {x}\r\n",
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
