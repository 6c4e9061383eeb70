#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "imapd/command.hpp"
#include "imapd/context.hpp"
#include "imapd/search.hpp"
#include "imapd/thread.hpp"

using namespace mail::imap;

namespace {
Command ok(std::string_view wire) {
    auto r = parse_command(wire);
    EXPECT_TRUE(std::holds_alternative<Command>(r)) << wire << ": " << std::get<CommandError>(r).text;
    return std::holds_alternative<Command>(r) ? std::get<Command>(r) : Command{};
}
CommandError fails(std::string_view wire) {
    auto r = parse_command(wire);
    EXPECT_TRUE(std::holds_alternative<CommandError>(r)) << wire;
    return std::holds_alternative<CommandError>(r) ? std::get<CommandError>(r) : CommandError{};
}
} // namespace

TEST(ImapCommand, TagNameAndArguments) {
    auto c = ok("a1 login alice \"p\\\"w\"\r\n");
    EXPECT_EQ(c.tag, "a1");
    EXPECT_EQ(c.name, "LOGIN");
    ASSERT_EQ(c.args.size(), 2u);
    EXPECT_EQ(c.args[0].text, "alice");
    EXPECT_EQ(c.args[1].text, "p\"w");
    c = ok("A2 UID fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>)\r\n");
    EXPECT_TRUE(c.uid);
    EXPECT_EQ(c.name, "FETCH");
    ASSERT_EQ(c.args.size(), 2u);
    EXPECT_EQ(c.args[0].text, "1:*");
    c = ok("A3 APPEND Drafts (\\Seen) {11+}\r\nhello world\r\n");
    ASSERT_EQ(c.args.size(), 3u);
    EXPECT_TRUE(c.args[2].literal);
    EXPECT_EQ(c.args[2].text, "hello world");
    c = ok("A4 NOOP\r\n");
    EXPECT_TRUE(c.args.empty());
}

// "[" is an ATOM-CHAR (RFC 3501 9); only "BODY[...]" makes it a section.
TEST(ImapCommand, BracketsInAtoms) {
    struct {
        const char* wire;
        std::vector<std::string> args;
    } cases[] = {
        {"a SELECT foo[bar\r\n", {"foo[bar"}},
        {"a LIST \"\" foo[}%*\r\n", {"", "foo[}%*"}},
        {"a CREATE [x\r\n", {"[x"}},
        {"a SELECT foo[bar]\r\n", {"foo[bar]"}},
        {"a FETCH 1 BODY[HEADER.FIELDS (A B)]\r\n", {"1", "BODY[HEADER.FIELDS (A B)]"}},
    };
    for (auto& c : cases) {
        auto cmd = ok(c.wire);
        ASSERT_EQ(cmd.args.size(), c.args.size()) << c.wire;
        for (size_t i = 0; i < c.args.size(); i++) EXPECT_EQ(cmd.args[i].text, c.args[i]) << c.wire;
    }
}

TEST(ImapCommand, ErrorsKeepTheTagWhenThereIsOne) {
    EXPECT_EQ(fails("\r\n").tag, "");
    EXPECT_EQ(fails("a+b NOOP\r\n").tag, "");
    EXPECT_EQ(fails("a*b NOOP\r\n").tag, "");
    EXPECT_EQ(fails("a1\r\n").tag, "a1");
    EXPECT_EQ(fails("a1 UID LOGIN x\r\n").tag, "a1");
    EXPECT_EQ(fails("a1 LOGIN \"unterminated\r\n").tag, "a1");
    EXPECT_EQ(fails("a1 APPEND x {5}\r\nab").tag, "a1");
    EXPECT_EQ(fails("a1 N0OP\r\n").tag, "a1");
}

TEST(ImapSequenceSet, RangesStarAndSaved) {
    auto s = parse_sequence_set("1,3:5,9:*");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->contains(1, 20));
    EXPECT_FALSE(s->contains(2, 20));
    EXPECT_TRUE(s->contains(4, 20));
    EXPECT_TRUE(s->contains(20, 20));
    EXPECT_FALSE(s->contains(8, 20));
    s = parse_sequence_set("*:4"); // reversed ranges are fine
    EXPECT_TRUE(s->contains(6, 7));
    EXPECT_FALSE(s->contains(3, 7));
    EXPECT_TRUE(parse_sequence_set("$")->saved);
    for (const char* bad : {"", "0", "1,", ",1", "1:", "a", "4294967296", "1::2", "01"})
        EXPECT_FALSE(parse_sequence_set(bad)) << bad;
    EXPECT_TRUE(parse_sequence_set("4294967295"));
}

TEST(ImapFetchItems, MacrosSectionsAndPartials) {
    using K = FetchItem::Kind;
    Value fast{Value::Kind::atom, "fast", {}, false};
    auto items = parse_fetch_items(fast);
    ASSERT_TRUE(items);
    EXPECT_EQ(items->size(), 3u);
    auto c = ok("t FETCH 1 (UID BODY.PEEK[1.2.MIME] BINARY[3]<10.20> BODY[HEADER.FIELDS.NOT (Received)] "
                "RFC822.SIZE BODY[]<0.5> BINARY.SIZE[1] MODSEQ)\r\n");
    items = parse_fetch_items(c.args[1]);
    ASSERT_TRUE(items) << items.error().user;
    ASSERT_EQ(items->size(), 8u);
    auto& v = *items;
    EXPECT_EQ(v[1].kind, K::body_section);
    EXPECT_TRUE(v[1].peek);
    EXPECT_EQ(v[1].section.part, (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(v[1].name(), "BODY[1.2.MIME]");
    EXPECT_EQ(v[2].kind, K::binary);
    EXPECT_EQ(v[2].name(), "BINARY[3]<10>");
    EXPECT_EQ(v[3].section.fields, (std::vector<std::string>{"RECEIVED"}));
    EXPECT_EQ(v[3].name(), "BODY[HEADER.FIELDS.NOT (RECEIVED)]");
    EXPECT_EQ(v[5].partial->second, 5u);
    EXPECT_EQ(v[6].kind, K::binary_size);
    for (const char* bad : {"t FETCH 1 (BODY[MIME])\r\n", "t FETCH 1 (BODY[1.TEXTX])\r\n", "t FETCH 1 (BINARY[HEADER])\r\n",
                            "t FETCH 1 (BODY[]<5>)\r\n", "t FETCH 1 (BODY[HEADER.FIELDS ()])\r\n", "t FETCH 1 (FOO)\r\n",
                            "t FETCH 1 (ALL)\r\n", "t FETCH 1 ()\r\n", "t FETCH 1 (BODY[0])\r\n", "t FETCH 1 (BODY[1.])\r\n"}) {
        auto cmd = ok(bad);
        ASSERT_EQ(cmd.args.size(), 2u) << bad;
        EXPECT_FALSE(parse_fetch_items(cmd.args[1])) << bad;
    }
}

TEST(ImapSyntax, LiteralMarksAndStrings) {
    EXPECT_EQ(literal_at_end("A1 APPEND x {12}").size, 12);
    EXPECT_FALSE(literal_at_end("A1 APPEND x {12}").non_sync);
    EXPECT_TRUE(literal_at_end("A1 APPEND x {12+}").non_sync);
    EXPECT_EQ(literal_at_end("A1 LOGIN {x}").size, -1);
    EXPECT_EQ(literal_at_end("A1 LOGIN }").size, -1);
    EXPECT_EQ(literal_at_end("{99999999999999999999}").size, -1);
    EXPECT_EQ(string_value("a\"b"), "\"a\\\"b\"");
    EXPECT_EQ(string_value("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
    EXPECT_EQ(nstring("", false), "NIL");
}

#include "imap/envelope.hpp"
#include "message/header.hpp"

TEST(ImapEnvelope, Rfc3501Example) {
    std::string msg = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
                      "From: Terry Gray <gray@cac.washington.edu>\n"
                      "Subject: IMAP4rev1 WG mtg summary and minutes\n"
                      "To: imap@cac.washington.edu\n"
                      "cc: minutes@CNRI.Reston.VA.US,\n John Klensin <KLENSIN@MIT.EDU>\n"
                      "Message-Id: <B27397-0100000@cac.washington.edu>\n\nbody\n";
    auto h = mail::parse_header(msg);
    ASSERT_TRUE(h);
    EXPECT_EQ(envelope(*h),
              "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((NIL NIL \"imap\" \"cac.washington.edu\")) "
              "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
              "NIL NIL \"<B27397-0100000@cac.washington.edu>\")");
}

TEST(ImapEnvelope, MissingFieldsAndDefaults) {
    auto h = mail::parse_header("Subject: caf\xc3\xa9\nSender: \nReply-To: r@x.test\n\n");
    ASSERT_TRUE(h);
    EXPECT_EQ(envelope(*h), "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL ((NIL NIL \"r\" \"x.test\")) NIL NIL NIL NIL NIL)");
}

#include "imap/structure.hpp"

TEST(ImapBodyStructure, TextLeafSizesInCrlf) {
    std::string msg = "Subject: x\n\nline one\nline two\n";
    EXPECT_EQ(body_structure(msg, false), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 2)");
    EXPECT_EQ(body_structure(msg, true),
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 2 NIL NIL NIL NIL)");
}

// The line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1):
// "caf=C3=A9" is 9 octets; the enclosed message is 4 lines, 52 octets in CRLF.
TEST(ImapBodyStructure, MultipartWithAttachmentAndEnclosedMessage) {
    std::string msg =
        "From: a@b\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
        "preamble\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        "caf=C3=A9\n--XX\nContent-Type: application/pdf; name=\"r.pdf\"\nContent-Disposition: attachment; "
        "filename=\"r.pdf\"\nContent-Transfer-Encoding: base64\nContent-ID: <c1@x>\n\nQUJD\n"
        "--XX\nContent-Type: message/rfc822\n\nSubject: inner\nFrom: Inner <i@x.test>\n\ninner body\n--XX--\n";
    std::string bs = body_structure(msg, true);
    EXPECT_EQ(bs,
              "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 9 1 NIL NIL NIL NIL)"
              "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<c1@x>\" NIL \"base64\" 4 NIL "
              "(\"attachment\" (\"filename\" \"r.pdf\")) NIL NIL)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 52 "
              "(NIL \"inner\" ((\"Inner\" NIL \"i\" \"x.test\")) ((\"Inner\" NIL \"i\" \"x.test\")) "
              "((\"Inner\" NIL \"i\" \"x.test\")) NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)"
              " \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
    size_t pos = 0;
    auto v = parse_values(bs, pos);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->size(), 1u);
    // BODY: no extension data
    EXPECT_EQ(body_structure(msg, false).find("attachment"), std::string::npos);
}

TEST(ImapBodyStructure, DeepAndBrokenStructuresStayBoundedAndWellFormed) {
    std::string deep;
    for (int i = 0; i < 10000; i++) deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
    deep += "\nleaf\n";
    std::string bs = body_structure(deep, true);
    size_t pos = 0;
    auto v = parse_values(bs, pos);
    ASSERT_TRUE(v) << v.error().user;
    EXPECT_EQ(v->size(), 1u);
    std::string broken = "Content-Type: multipart/mixed; boundary=zz\n\nno delimiter at all\n";
    EXPECT_EQ(body_structure(broken, false).substr(0, 16), "(\"text\" \"plain\" ");
    std::string nested_msgs;
    for (int i = 0; i < 200; i++) nested_msgs += "Content-Type: message/rfc822\n\n";
    bs = body_structure(nested_msgs + "Subject: end\n\nx\n", true);
    pos = 0;
    ASSERT_TRUE(parse_values(bs, pos));
}

#include "imap/mutf7.hpp"

TEST(ImapMutf7, Rfc3501ExamplesBothWays) {
    struct {
        const char *utf8, *mutf7;
    } cases[] = {
        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"\xe2\x98\xba!", "&Jjo-!"},
        {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
        {"A&B", "A&-B"},
        {"INBOX", "INBOX"},
        {"\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail"}, // U+1F4E7: D83D DCE7
        {"", ""},
    };
    for (auto& c : cases) {
        auto e = mutf7_encode(c.utf8);
        ASSERT_TRUE(e) << c.utf8;
        EXPECT_EQ(*e, c.mutf7);
        auto d = mutf7_decode(c.mutf7);
        ASSERT_TRUE(d) << c.mutf7;
        EXPECT_EQ(*d, c.utf8);
    }
}

TEST(ImapMutf7, StrictDecoding) {
    for (const char* bad : {"&Jjo", "&AGE-", "&Jjr-", "&2D0-", "&-&", "a\x80", "&Jjo-&Jjo-", "&*-", "tab\there"})
        EXPECT_FALSE(mutf7_decode(bad)) << bad;
    EXPECT_FALSE(mutf7_encode("\xc3"));
    EXPECT_FALSE(mutf7_encode("\xed\xa0\x80")); // an encoded surrogate
}

#include "imapd/search.hpp"

namespace {
SearchProgram search(std::string_view args) {
    auto c = ok("t SEARCH " + std::string(args) + "\r\n");
    auto p = parse_search(c.args);
    EXPECT_TRUE(p) << args << ": " << (p ? "" : p.error().user);
    return p ? *p : SearchProgram{};
}
} // namespace

TEST(ImapSearch, KeysOfRfc3501) {
    using Op = SearchKey::Op;
    auto p = search("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    ASSERT_EQ(p.root.children.size(), 3u);
    EXPECT_EQ(p.root.children[0].op, Op::flag);
    EXPECT_EQ(p.root.children[0].text, "\\Flagged");
    EXPECT_EQ(p.root.children[1].op, Op::since);
    EXPECT_EQ(p.root.children[1].number, 760060800);
    EXPECT_EQ(p.root.children[2].op, Op::not_);
    EXPECT_EQ(p.root.children[2].children[0].field, "FROM");
    EXPECT_EQ(p.root.children[2].children[0].text, "Smith");
    p = search("CHARSET UTF-8 OR (UNSEEN LARGER 100) HEADER List-Id {3}\r\nabc 1:5,7 UID 10:*");
    EXPECT_EQ(p.charset, "UTF-8");
    ASSERT_EQ(p.root.children.size(), 3u);
    auto& o = p.root.children[0];
    EXPECT_EQ(o.op, Op::or_);
    EXPECT_EQ(o.children[0].op, Op::and_);
    EXPECT_EQ(o.children[0].children[0].op, Op::not_);
    EXPECT_EQ(o.children[0].children[1].number, 100);
    EXPECT_EQ(o.children[1].field, "LIST-ID");
    EXPECT_EQ(o.children[1].text, "abc");
    EXPECT_EQ(p.root.children[1].op, Op::sequence);
    EXPECT_TRUE(p.root.children[1].set.contains(7, 9));
    EXPECT_EQ(p.root.children[2].op, Op::uid);
    p = search("RETURN (MIN COUNT) NEW KEYWORD $Junk UNKEYWORD $Label1 MODSEQ \"/flags/\\\\draft\" all 620162338");
    EXPECT_TRUE(p.esearch);
    EXPECT_EQ(p.returns.want, (std::vector<std::string>{"MIN", "COUNT"}));
    EXPECT_EQ(p.root.children[0].op, Op::and_); // NEW = RECENT UNSEEN
    EXPECT_EQ(p.root.children[1].text, "$Junk");
    EXPECT_EQ(p.root.children[3].op, Op::modseq);
    EXPECT_EQ(p.root.children[3].number, 620162338);
    EXPECT_TRUE(search("RETURN () ALL").returns.want == std::vector<std::string>{"ALL"});
    // CONTEXT=SEARCH (RFC 5267 4): CONTEXT a hint, UPDATE, PARTIAL with its range in either order
    p = search("RETURN (CONTEXT UPDATE PARTIAL 500:1 COUNT) ALL");
    EXPECT_TRUE(p.returns.update);
    EXPECT_EQ(p.returns.want, (std::vector<std::string>{"PARTIAL", "COUNT"}));
    EXPECT_EQ(p.returns.partial, (std::pair<uint32_t, uint32_t>{1, 500}));
    EXPECT_TRUE(search("RETURN (UPDATE) ALL").returns.want.empty());
}

TEST(ImapSearch, BadProgramsAreRefused) {
    for (const char* bad : {"", "FROM", "OR SEEN", "NOT", "SINCE 30-Feb-2020", "SINCE 29-Feb-2023", "SINCE 1-Foo-2020",
                            "LARGER x", "CHARSET KOI8-R ALL", "RETURN (FOO) ALL",
                            "RETURN (PARTIAL) ALL", "RETURN (PARTIAL 1:*) ALL", "RETURN (PARTIAL 0:5) ALL",
                            "RETURN (PARTIAL 7) ALL", "RETURN (PARTIAL 1:5 ALL) ALL", "RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
                            "RETURN (PARTIAL (1:5)) ALL", "UID x", "BOGUS", "()",
                            "\"quoted\"", "KEYWORD \\Seen"}) {
        auto c = ok("t SEARCH " + std::string(bad) + "\r\n");
        EXPECT_FALSE(parse_search(c.args)) << bad;
    }
    EXPECT_EQ(parse_search_date("29-Feb-2024"), 1709164800);
    std::string deep = "t SEARCH ";
    for (int i = 0; i < 100; i++) deep += "NOT ";
    deep += "ALL\r\n";
    EXPECT_FALSE(parse_search(ok(deep).args));
}

// ---- the message side of mail-imapd (imap/message, mime decoding) ----

#include "imapd/message.hpp"
#include "imapd/search.hpp"
#include "message/mime.hpp"

namespace {
const char* sample =
    "From: a@example.test\n"
    "Subject: =?utf-8?q?Caf=C3=A9?= =?ISO-8859-1?B?6Q==?= menu\n"
    "Content-Type: multipart/mixed; boundary=\"X\"\n"
    "\n"
    "preamble\n"
    "--X\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 au lait\n"
    "--X\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=Y\n"
    "\n"
    "--Y\n"
    "\n"
    "plain inner\n"
    "--Y\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>html inner</b>\n"
    "--Y--\n"
    "--X--\n";

std::string section(std::string_view spec_part, std::string text, std::vector<std::string> fields = {}) {
    Section s;
    for (size_t i = 0; i < spec_part.size(); i += 2) s.part.push_back(static_cast<uint32_t>(spec_part[i] - '0'));
    s.text = std::move(text);
    s.fields = std::move(fields);
    std::string storage;
    auto t = section_text(sample, s, storage);
    return t ? std::string(*t) : std::string("<none>");
}
} // namespace

TEST(ImapMessage, Sections) {
    EXPECT_EQ(section("", ""), sample);
    EXPECT_EQ(section("", "HEADER").substr(0, 21), "From: a@example.test\n");
    EXPECT_TRUE(section("", "HEADER").ends_with("\"X\"\n\n"));
    EXPECT_EQ(section("", "HEADER.FIELDS", {"SUBJECT"}), "Subject: =?utf-8?q?Caf=C3=A9?= =?ISO-8859-1?B?6Q==?= menu\n\n");
    EXPECT_EQ(section("", "HEADER.FIELDS.NOT", {"SUBJECT", "CONTENT-TYPE"}), "From: a@example.test\n\n");
    EXPECT_EQ(section("1", ""), "caf=E9 au lait");
    EXPECT_EQ(section("1", "MIME"), "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n");
    EXPECT_TRUE(section("2", "").starts_with("Subject: inner\n")); // the enclosed message
    EXPECT_EQ(section("2", "HEADER.FIELDS", {"SUBJECT"}), "Subject: inner\n\n");
    EXPECT_TRUE(section("2", "TEXT").starts_with("--Y\n"));
    EXPECT_EQ(section("2.1", ""), "plain inner");
    EXPECT_EQ(section("2.2", ""), "<b>html inner</b>");
    EXPECT_EQ(section("2.2", "MIME"), "Content-Type: text/html\n\n");
    EXPECT_EQ(section("3", ""), "<none>");
    EXPECT_EQ(section("1.1", ""), "<none>"); // a leaf has no parts
    EXPECT_EQ(section("1", "TEXT"), "<none>"); // TEXT of a part that is not a message
}

TEST(ImapMessage, SinglePartMessagePartOne) {
    Section s;
    s.part = {1};
    std::string storage;
    auto t = section_text("Subject: x\n\nbody\n", s, storage);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, "body\n");
}

TEST(ImapMessage, CrlfConversion) {
    EXPECT_EQ(crlf_size("a\nb\r\nc"), 7u);
    std::string out;
    bool cr = false;
    append_crlf("a\nb\r", out, cr);
    append_crlf("\nc\n", out, cr); // a CRLF split between two pieces stays one
    EXPECT_EQ(out, "a\r\nb\r\nc\r\n");
    std::string storage;
    EXPECT_EQ(crlf_slice("ab\ncd\n", 2, 4, storage), "\r\ncd");
    EXPECT_EQ(crlf_slice("ab\ncd\n", 3, 100, storage), "\ncd\r\n");
    EXPECT_EQ(crlf_slice("ab\r\ncd", 1, 3, storage), "b\r\n");
    EXPECT_EQ(crlf_slice("ab\ncd\n", 50, 4, storage), "");
}

TEST(ImapMessage, BinaryDecodes) {
    Section s;
    s.part = {1};
    bool unknown = true;
    auto b = binary_text(sample, s, unknown);
    ASSERT_TRUE(b);
    EXPECT_FALSE(unknown);
    EXPECT_EQ(*b, "caf\xe9 au lait");
}

TEST(ImapMessage, SearchTextIsDecoded) {
    SearchText t = search_text(sample);
    EXPECT_NE(t.header.find("Subject: Café\xc3\xa9 menu"), std::string::npos) << t.header;
    EXPECT_NE(t.body.find("café au lait"), std::string::npos) << t.body;
    EXPECT_NE(t.body.find("Subject: inner"), std::string::npos); // the enclosed message's header
    EXPECT_NE(t.body.find("plain inner"), std::string::npos);
    EXPECT_NE(t.body.find("<b>html inner</b>"), std::string::npos);
    EXPECT_EQ(t.body.find("preamble"), std::string::npos);
}

TEST(ImapMessage, CacheRowSizes) {
    mail::CacheRow r = cache_row("Subject: x\n\nbody\n");
    EXPECT_EQ(r.size, 20u);
    EXPECT_EQ(r.body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)");
    EXPECT_TRUE(r.envelope.starts_with("(NIL \"x\" NIL"));
}

TEST(MimeDecode, EncodedWords) {
    using mail::mime::decode_words;
    EXPECT_EQ(decode_words("=?utf-8?q?Caf=C3=A9?="), "Café");
    EXPECT_EQ(decode_words("=?utf-8?q?a?= =?utf-8?q?b?="), "ab"); // space between words dropped
    EXPECT_EQ(decode_words("x =?utf-8?q?a?= y"), "x a y");
    EXPECT_EQ(decode_words("=?ISO-8859-1?B?6Q==?="), "é");
    EXPECT_EQ(decode_words("=?utf-8*fr?q?oui?="), "oui"); // RFC 2231 language
    EXPECT_EQ(decode_words("=?bogus?x?y?="), "=?bogus?x?y?=");
    EXPECT_EQ(decode_words("plain\n folded"), "plain folded");
    EXPECT_EQ(mail::mime::to_utf8("caf\xe9", ""), "café"); // not UTF-8: read as windows-1252
    EXPECT_EQ(mail::mime::to_utf8("\xe9t\xe9", "no-such-charset"), "été");
    EXPECT_EQ(mail::mime::to_utf8("\xff", "utf-8"), "ÿ");
}

TEST(ImapSearch, HeaderDateDay) {
    EXPECT_EQ(header_date_day("Tue, 1 Feb 1994 10:00:00 +0100"), 760060800);
    EXPECT_EQ(header_date_day("1 Feb 1994 23:59 -0800"), 760060800); // its own day, zone disregarded
    EXPECT_EQ(header_date_day("Tue, 01 Feb 94 10:00:00 GMT"), 760060800);
    EXPECT_EQ(header_date_day("garbage"), -1);
}

TEST(ImapSort, HeaderDateTime) {
    EXPECT_EQ(header_date_time("Tue, 1 Feb 1994 10:00:00 +0100"), 760093200);
    EXPECT_EQ(header_date_time("1 Feb 1994 10:00 EST"), 760114800);
    EXPECT_EQ(header_date_time("Tue, 01 Feb 94 09:00:00 GMT"), 760093200);
    EXPECT_EQ(header_date_time("1 Feb 1994 25:00:00 +0000"), -1);
    EXPECT_EQ(header_date_time("garbage"), -1);
}

TEST(ImapSort, BaseSubject) {
    struct {
        const char* in;
        const char* out;
    } cases[] = {
        {"Re: hello", "hello"},
        {"RE: [list] Re: hello (fwd)", "hello"},
        {"[Fwd: Re: hello]", "hello"},
        {"Fw: hello", "hello"},
        {"Fwd:hello", "hello"},
        {"re [x]: hi", "hi"},
        {"[list] hello", "hello"},
        {"[only a blob]", "[only a blob]"},
        {"Re: [list]", "[list]"},
        {"  many   spaces\there  ", "many spaces here"},
        {"=?utf-8?q?Re=3A_R=C3=A9union?=", "R\xc3\xa9union"},
        {"Referendum", "Referendum"},
        {"", ""},
    };
    for (auto& c : cases) EXPECT_EQ(base_subject(c.in), c.out) << c.in;
}

TEST(ImapSort, Criteria) {
    size_t pos = 0;
    auto v = parse_values("(REVERSE DATE SUBJECT)\r\n", pos);
    ASSERT_TRUE(v);
    auto k = parse_sort_criteria((*v)[0]);
    ASSERT_TRUE(k);
    ASSERT_EQ(k->size(), 2u);
    EXPECT_TRUE((*k)[0].reverse);
    EXPECT_FALSE((*k)[1].reverse);
    for (const char* bad : {"(REVERSE)\r\n", "()\r\n", "(COLOR)\r\n", "(REVERSE REVERSE DATE)\r\n"}) {
        pos = 0;
        auto b = parse_values(bad, pos);
        ASSERT_TRUE(b);
        EXPECT_FALSE(parse_sort_criteria((*b)[0])) << bad;
    }
}

TEST(ImapSyntax, InternalDate) {
    EXPECT_EQ(parse_internal_date("31-Feb-2024 10:00:00 +0000"), 0);
    EXPECT_EQ(format_internal_date(837596665), "\"17-Jul-1996 09:44:25 +0000\"");
}

// THREAD (RFC 5256): the two algorithms on message facts.
namespace {
ThreadMessage msg(int64_t n, std::string subject, std::string id, std::vector<std::string> parents = {}) {
    ThreadMessage m;
    m.number = n;
    m.date = 1000 + n;
    m.reply = is_reply_subject(subject);
    m.subject = base_subject(subject);
    m.message_id = std::move(id);
    m.parents = std::move(parents);
    return m;
}
} // namespace

TEST(ImapThread, References) {
    struct {
        std::vector<ThreadMessage> msgs;
        std::string out;
    } cases[] = {
        {{msg(1, "a", "<1>"), msg(2, "Re: a", "<2>", {"<1>"}), msg(3, "Re: a", "<3>", {"<1>", "<2>"}),
          msg(4, "Re: a", "<4>", {"<1>"})},
         "(1 (2 3)(4))"},
        // a parent that is not here: a dummy at the top with both
        {{msg(1, "b", "<1>", {"<gone>"}), msg(2, "c", "<2>", {"<gone>"})}, "((1)(2))"},
        // no References, the same base subject: the reply goes under the original
        {{msg(1, "hello", "<1>"), msg(2, "Re: hello", "<2>")}, "(1 2)"},
        // the same subject, neither a reply: gathered under a dummy
        {{msg(1, "x", "<1>"), msg(2, "x", "<2>")}, "((1)(2))"},
        // references in a loop, and a duplicate Message-ID
        {{msg(1, "p", "<1>", {"<2>"}), msg(2, "q", "<2>", {"<1>"}), msg(3, "r", "<1>")}, "(2 1)(3)"},
        // a dummy in the middle of a chain goes; its child takes its place
        {{msg(1, "s", "<1>"), msg(2, "t", "<2>", {"<1>", "<missing>"})}, "(1 2)"},
    };
    for (auto& c : cases) EXPECT_EQ(format_threads(thread_references(c.msgs)), c.out);
}

TEST(ImapThread, OrderedSubjectAndBounds) {
    std::vector<ThreadMessage> m{msg(1, "b", ""), msg(2, "a", ""), msg(3, "Re: b", ""), msg(4, "a", ""), msg(5, "a", "")};
    EXPECT_EQ(format_threads(thread_orderedsubject(m)), "(1 3)(2 (4)(5))");
    // A chain of 5,000 replies: bounded depth, every message there once.
    std::vector<ThreadMessage> chain;
    for (int i = 1; i <= 5000; i++)
        chain.push_back(msg(i, "c", "<" + std::to_string(i) + ">", i > 1 ? std::vector<std::string>{"<" + std::to_string(i - 1) + ">"} : std::vector<std::string>{}));
    std::string out = format_threads(thread_references(chain));
    std::vector<int> seen;
    for (size_t i = 0; i < out.size();) {
        if (!isdigit(static_cast<unsigned char>(out[i]))) { i++; continue; }
        size_t e = out.find_first_not_of("0123456789", i);
        seen.push_back(std::stoi(out.substr(i, e - i)));
        i = e;
    }
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(seen.size(), 5000u);
    for (int i = 0; i < 5000; i++) EXPECT_EQ(seen[static_cast<size_t>(i)], i + 1);
    EXPECT_EQ(out.substr(0, 12), "(1 2 3 4 5 6");
    EXPECT_EQ(std::count(out.begin(), out.end(), '('), std::count(out.begin(), out.end(), ')'));
    EXPECT_TRUE(is_reply_subject("[list] Fwd: x"));
    EXPECT_TRUE(is_reply_subject("re[2]: x"));
    EXPECT_FALSE(is_reply_subject("Reply to all"));
    EXPECT_EQ(message_ids("<a@b> <c@d>\r\n\t<e@f> junk <broken"), (std::vector<std::string>{"<a@b>", "<c@d>", "<e@f>"}));
}

// RFC 5267 4.3.3 and 4.3.4: what the client is told, applied in order as
// the RFC says, gives the new result; positions for SORT, 0 for SEARCH.
TEST(ImapContext, AddToAndRemoveFromPositions) {
    auto as_uid = [](int64_t u) { return u; };
    SearchContext sorted{"C01", true, {}, {SortKey{SortKey::By::date, true}}, {}, {2735, 2734}};
    EXPECT_EQ(result_changes(sorted, {2735, 2734, 2733, 2732, 2731}, as_uid), "ADDTO (3 2733,2732,2731)");
    EXPECT_EQ(result_changes(sorted, {2735, 2734, 2733, 2732, 2731}, as_uid), "");
    EXPECT_EQ(result_changes(sorted, {2740, 2735, 2733, 2731}, as_uid), "REMOVEFROM (2 2734 3 2732) ADDTO (1 2740)");
    EXPECT_EQ(sorted.result, (std::vector<int64_t>{2740, 2735, 2733, 2731}));
    EXPECT_EQ(remove_from(sorted, {2740, 2735, 2731}, as_uid), "REMOVEFROM (1 2740,2735 2 2731)");
    EXPECT_EQ(sorted.result, (std::vector<int64_t>{2733}));

    SearchContext search{"B01", true, {}, {}, {}, {5, 9}};
    EXPECT_EQ(result_changes(search, {5, 7, 8, 10}, as_uid), "REMOVEFROM (0 9) ADDTO (0 7:8,10)");
    // sequence numbers as the session shows them (here UID + 100)
    EXPECT_EQ(remove_from(search, {7, 10}, [](int64_t u) { return u + 100; }), "REMOVEFROM (0 107,110)");
    EXPECT_EQ(search.result, (std::vector<int64_t>{5, 8}));
}

// A result whose kept part changed order: everything out, the new list in.
TEST(ImapContext, ReorderedResultStartsAgain) {
    auto as_uid = [](int64_t u) { return u; };
    SearchContext sorted{"C02", true, {}, {SortKey{SortKey::By::subject, false}}, {}, {3, 1, 2}};
    EXPECT_EQ(result_changes(sorted, {1, 2, 3}, as_uid), "REMOVEFROM (1 3,1:2) ADDTO (1 1:3)");
    EXPECT_EQ(sorted.result, (std::vector<int64_t>{1, 2, 3}));
}
