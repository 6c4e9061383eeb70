// Outbound pieces that need no network: the DATA encoder, the reply
// parser, DKIM canonicalization and signatures.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "base/encoding.hpp"
#include "message/dkim.hpp"
#include "smtp/client.hpp"

using namespace mail;

namespace {

std::string stuffed(std::string_view in, size_t piece = 1000) {
    smtp::DotStuffer d;
    std::string out;
    for (size_t i = 0; i < in.size(); i += piece) d.feed(in.substr(i, piece), out);
    d.finish(out);
    return out;
}

} // namespace

TEST(DotStuffer, CrlfAndDots) {
    EXPECT_EQ(stuffed("a\n.b\n..c\nd"), "a\r\n..b\r\n...c\r\nd\r\n");
    EXPECT_EQ(stuffed("a\r\n.\r\n"), "a\r\n..\r\n");
    EXPECT_EQ(stuffed("bare\rcr\n"), "bare\r\ncr\r\n");
    EXPECT_EQ(stuffed(""), "");
    EXPECT_EQ(stuffed(".x"), "..x\r\n");
    // The same whatever the pieces (a CRLF or a dot split across them).
    std::string m = "x\r\n.y\r\n\r\n.\n.z\r";
    for (size_t p = 1; p < m.size(); p++) EXPECT_EQ(stuffed(m, p), stuffed(m)) << p;
}

TEST(ReplyParser, MultiLineAndExtensions) {
    smtp::ReplyParser p;
    EXPECT_EQ(p.feed("250-mx.example Hello"), smtp::ReplyParser::State::more);
    EXPECT_EQ(p.feed("250-PIPELINING"), smtp::ReplyParser::State::more);
    EXPECT_EQ(p.feed("250-SIZE 1000"), smtp::ReplyParser::State::more);
    EXPECT_EQ(p.feed("250-AUTH LOGIN PLAIN"), smtp::ReplyParser::State::more);
    EXPECT_EQ(p.feed("250 8BITMIME"), smtp::ReplyParser::State::done);
    auto e = p.extensions();
    EXPECT_TRUE(e.pipelining && e.size && e.eightbitmime && e.auth_plain && e.auth_login);
    EXPECT_FALSE(e.starttls || e.dsn || e.smtputf8);
    EXPECT_EQ(e.max_size, 1000u);
    EXPECT_EQ(p.reply().code, 250);
}

TEST(ReplyParser, Bad) {
    for (const char* line : {"", "25", "abc def", "250x", "650 no", "199 no"}) {
        smtp::ReplyParser p;
        EXPECT_EQ(p.feed(line), smtp::ReplyParser::State::bad) << line;
        EXPECT_EQ(p.reply().code, 0);
    }
    smtp::ReplyParser p;
    EXPECT_EQ(p.feed("250-a"), smtp::ReplyParser::State::more);
    EXPECT_EQ(p.feed("550 b"), smtp::ReplyParser::State::bad);
}

TEST(Reply, Dsn) {
    EXPECT_EQ((smtp::Reply{550, "5.1.1 no such user"}).dsn(), "5.1.1");
    EXPECT_EQ((smtp::Reply{550, "no such user"}).dsn(), "5.0.0");
    EXPECT_EQ((smtp::Reply{450, "5.1.1 inconsistent"}).dsn(), "4.0.0");
    EXPECT_EQ((smtp::Reply{0, "lost"}).dsn(), "4.4.2");
}

// RFC 6376 3.4.5's example.
TEST(Dkim, RelaxedCanonicalization) {
    EXPECT_EQ(dkim::relaxed_header("A", " X"), "a:X\r\n");
    EXPECT_EQ(dkim::relaxed_header("B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
    // White space after a colon inside the value is kept (only the one after the name goes).
    EXPECT_EQ(dkim::relaxed_header("Subject", " Re: Re:  hello"), "subject:Re: Re: hello\r\n");
    EXPECT_EQ(dkim::relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
    EXPECT_EQ(dkim::relaxed_body("a\n\n b\n\n"), "a\r\n\r\n b\r\n");
    EXPECT_EQ(dkim::relaxed_body("\r\n\r\n"), "");
    EXPECT_EQ(dkim::relaxed_body("no end"), "no end\r\n");
}

namespace {

// Check a signature the long way: rebuild the signed data from the header
// we produced, then verify with the public key.
void verify(const std::string& sigfield, const dkim::Key& key) {
    std::string v = sigfield.substr(sigfield.find(':') + 1);
    size_t b = v.rfind("b=");
    std::string sig_b64;
    for (char c : v.substr(b + 2))
        if (!isspace(static_cast<unsigned char>(c))) sig_b64 += c;
    auto sig = base64_decode(sig_b64);
    ASSERT_TRUE(sig);
    // h= is from:from:subject:to here (To and Subject present once).
    std::string signed_data = dkim::relaxed_header("from", " Alice <alice@a.test>") +
                              dkim::relaxed_header("subject", " hi") +
                              dkim::relaxed_header("to", " bob@b.test") +
                              dkim::relaxed_header("dkim-signature", v.substr(0, b + 2));
    signed_data.resize(signed_data.size() - 2);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    int ok;
    if (key.algorithm == dkim::Algorithm::rsa_sha256) {
        ok = EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
             EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                              reinterpret_cast<const unsigned char*>(signed_data.data()),
                              signed_data.size()) == 1;
    } else {
        unsigned char h[32];
        unsigned hl;
        EVP_Digest(signed_data.data(), signed_data.size(), h, &hl, EVP_sha256(), nullptr);
        ok = EVP_DigestVerifyInit(md, nullptr, nullptr, nullptr, key.pkey.get()) == 1 &&
             EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(), h,
                              hl) == 1;
    }
    EVP_MD_CTX_free(md);
    EXPECT_TRUE(ok) << sigfield;
}

} // namespace

TEST(Dkim, SignAndVerify) {
    const std::string msg = "From: Alice <alice@a.test>\nSubject: hi\nTo: bob@b.test\n\nbody  text \n\n";
    for (auto alg : {dkim::Algorithm::rsa_sha256, dkim::Algorithm::ed25519_sha256}) {
        auto key = dkim::generate(alg);
        ASSERT_TRUE(key);
        key->domain = "a.test";
        key->selector = "s1";
        // The PEM round trip gives a usable key.
        auto pem = dkim::private_pem(*key);
        ASSERT_TRUE(pem);
        auto back = dkim::load_pem(*pem, alg);
        ASSERT_TRUE(back);
        EXPECT_FALSE(dkim::load_pem(*pem, alg == dkim::Algorithm::rsa_sha256
                                              ? dkim::Algorithm::ed25519_sha256
                                              : dkim::Algorithm::rsa_sha256));
        auto p = dkim::public_value(*key);
        ASSERT_TRUE(p);
        if (alg == dkim::Algorithm::ed25519_sha256) {
            EXPECT_EQ(p->size(), 44u);
        }
        auto sig = dkim::sign(msg, {*key}, 1700000000);
        ASSERT_TRUE(sig);
        EXPECT_NE(sig->find("h=from:from:subject:to;"), std::string::npos) << *sig;
        EXPECT_NE(sig->find("d=a.test; s=s1;"), std::string::npos);
        EXPECT_NE(sig->find("t=1700000000;"), std::string::npos);
        // bh= of "body text\r\n" (relaxed).
        unsigned char h[32];
        unsigned hl;
        EVP_Digest("body text\r\n", 11, h, &hl, EVP_sha256(), nullptr);
        EXPECT_NE(sig->find("bh=" + base64_encode(std::string_view(reinterpret_cast<char*>(h), hl))),
                  std::string::npos);
        verify(*sig, *key);
    }
}
