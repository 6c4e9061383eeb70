#include <gtest/gtest.h>

#include "auth/sasl.hpp"
#include "smtp/command.hpp"
#include "smtp/data.hpp"
#include "smtpd/writer.hpp"

using namespace mail;
using namespace mail::smtp;

TEST(SmtpCommand, VerbAndArgument) {
    struct {
        const char* line;
        const char* verb;
        const char* arg;
    } cases[] = {
        {"ehlo client.example", "EHLO", "client.example"},
        {"MAIL FROM:<a@b>", "MAIL", "FROM:<a@b>"},
        {"QUIT", "QUIT", ""},
        {"rcpt   TO:<x@y>", "RCPT", "TO:<x@y>"},
        {"", "", ""},
    };
    for (auto& c : cases) {
        Command cmd = parse_command(c.line);
        EXPECT_EQ(cmd.verb, c.verb) << c.line;
        EXPECT_EQ(cmd.arg, c.arg) << c.line;
    }
}

TEST(SmtpCommand, PathAndParameters) {
    auto p = parse_path_arg("FROM:<a@b.test> SIZE=100 body=8BITMIME SMTPUTF8", "FROM:");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->path, "a@b.test");
    ASSERT_EQ(p->params.size(), 3u);
    EXPECT_EQ(p->params[0].key, "SIZE");
    EXPECT_EQ(p->params[0].value, "100");
    EXPECT_EQ(p->params[1].key, "BODY");
    EXPECT_FALSE(p->params[2].has_value);
    EXPECT_EQ(parse_path_arg("from: <>", "FROM:")->path, "");
    EXPECT_EQ(parse_path_arg("TO:<\"a>b\"@c.test>", "TO:")->path, "\"a>b\"@c.test");
    for (const char* bad : {"FROM:a@b", "FROM:<a@b", "TO:<a@b>", "FROM:<a@b>x", "FROM:<a@b> =1"})
        EXPECT_FALSE(parse_path_arg(bad, "FROM:")) << bad;
}

TEST(SmtpCommand, Xtext) {
    EXPECT_EQ(decode_xtext("abc+2Bdef").value(), "abc+def");
    EXPECT_EQ(encode_xtext("a+b=c d"), "a+2Bb+3Dc+20d");
    for (const char* bad : {"a+2", "a+zz", "a b", "a=b"}) EXPECT_FALSE(decode_xtext(bad)) << bad;
}

// Feed `in` to a DataReader in chunks of every size from 1 up: the result
// must not depend on where the network split the bytes.
struct DataResult {
    bool done;
    DataReader::Problem problem;
    std::string out;
    size_t consumed;
};

DataResult read_data(std::string_view in, size_t chunk, bool normalize = false,
                     size_t max_line = 1000, uint64_t max_size = 1 << 20) {
    DataReader r(max_size, max_line, normalize);
    std::string out;
    size_t used = 0;
    while (used < in.size() && !r.done()) used += r.feed(in.substr(used, chunk), out);
    return {r.done(), r.problem(), out, used};
}

TEST(SmtpData, TerminatorAndUnstuffing) {
    struct {
        const char* in;
        bool done;
        const char* out;
        DataReader::Problem problem;
    } cases[] = {
        {"a\r\nb\r\n.\r\nMAIL", true, "a\nb\n", DataReader::Problem::none},
        {".\r\n", true, "", DataReader::Problem::none},
        {"..x\r\n.\r\n", true, ".x\n", DataReader::Problem::none},
        {"a\r\n.b\r\n.\r\n", true, "a\nb\n", DataReader::Problem::none},
        {"a\n.\nb\r\n.\r\n", true, "", DataReader::Problem::bare_line_end},
        {"a\r\n.\n", false, "", DataReader::Problem::bare_line_end},
        {"a\r.\r\n", false, "", DataReader::Problem::bare_line_end},
        {"a\r\n.\rX\r\n.\r\n", true, "", DataReader::Problem::bare_line_end},
        {"a\r\n", false, "a\n", DataReader::Problem::none},
    };
    for (auto& c : cases) {
        std::string in = c.in;
        for (size_t chunk = 1; chunk <= in.size(); chunk++) {
            auto r = read_data(in, chunk);
            EXPECT_EQ(r.done, c.done) << c.in << " chunk " << chunk;
            EXPECT_EQ(r.problem, c.problem) << c.in;
            if (c.problem == DataReader::Problem::none) {
                EXPECT_EQ(r.out, c.out) << c.in;
            }
        }
    }
    EXPECT_EQ(read_data("a\r\n.\r\nMAIL", 100).consumed, 6u);
}

TEST(SmtpData, NormalisedBareLineEndsNeverTerminate) {
    auto r = read_data("a\n.\nb\r.\rc\r\n.\r\n", 3, true);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.problem, DataReader::Problem::none);
    EXPECT_EQ(r.out, "a\n.\nb\n.\nc\n");
    EXPECT_FALSE(read_data("a\n.\r\n", 1, true).done);
}

TEST(SmtpData, Bounds) {
    auto r = read_data("12345678901\r\n.\r\n", 4, false, 10);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.problem, DataReader::Problem::line_too_long);
    r = read_data("1234567890\r\n.\r\n", 4, false, 10);
    EXPECT_EQ(r.problem, DataReader::Problem::none);
    r = read_data("aaaa\r\naaaa\r\n.\r\n", 5, false, 1000, 8);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.problem, DataReader::Problem::too_big);
}

TEST(SmtpData, CrlfFilterAcrossChunks) {
    std::string in = "a\r\nb\rc\r\n\r", out;
    for (size_t chunk = 1; chunk <= in.size(); chunk++) {
        CrlfFilter f;
        out.clear();
        for (size_t i = 0; i < in.size(); i += chunk) f.feed(std::string_view(in).substr(i, chunk), out);
        f.finish(out);
        EXPECT_EQ(out, "a\nb\rc\n\r") << chunk;
        EXPECT_EQ(f.bare(), 2u) << chunk; // the CR after b, the last one
    }
    CrlfFilter lf;
    std::string out2;
    lf.feed("x\ny\r\n", out2);
    lf.finish(out2);
    EXPECT_EQ(out2, "x\ny\n");
    EXPECT_EQ(lf.bare(), 1u); // a bare LF: the LF store cannot tell it from a CRLF
}

TEST(Sasl, Base64) {
    struct {
        const char* plain;
        const char* b64;
    } cases[] = {{"", "="}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}};
    for (auto& c : cases) {
        if (*c.plain) {
            EXPECT_EQ(base64_encode(c.plain), c.b64);
        }
        EXPECT_EQ(base64_decode(c.b64).value(), c.plain);
    }
    for (const char* bad : {"Zg=", "Z===", "Zm9v!", "Zg==Zg==", "=Zg=", "Zm6vYe=="}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(Sasl, Plain) {
    auto c = parse_plain(std::string("\0alice@x.test\0pw", 16));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->user, "alice@x.test");
    EXPECT_EQ(c->password, "pw");
    EXPECT_EQ(c->authzid, "");
    EXPECT_FALSE(parse_plain(std::string("alice\0pw", 8)));
    EXPECT_FALSE(parse_plain(std::string("\0\0pw", 4)));
    EXPECT_FALSE(parse_plain(std::string("\0a\0b\0c", 6)));
}
