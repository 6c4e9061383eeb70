// MIME encodings, the message builder and signatures.
#include <gtest/gtest.h>

#include "message/mime.hpp"
#include "message/signature.hpp"

using namespace mail;

TEST(Mime, ContentType) {
    auto ct = mime::parse_content_type(" Text/Plain; charset=\"UTF-8\";\n\tformat=flowed");
    EXPECT_TRUE(ct.is("text", "plain"));
    EXPECT_EQ(ct.param("charset"), "UTF-8");
    EXPECT_EQ(ct.param("format"), "flowed");
    ct = mime::parse_content_type("multipart/mixed; boundary=\"a b\\\"c\"");
    EXPECT_EQ(ct.param("boundary"), "a b\"c");
    EXPECT_EQ(ct.str(), "multipart/mixed; boundary=\"a b\\\"c\"");
    EXPECT_TRUE(mime::parse_content_type("garbage").is("text", "plain"));
    EXPECT_TRUE(mime::parse_content_type("").is("text", "plain"));
}

TEST(Mime, QuotedPrintable) {
    std::string text = "caf\xc3\xa9 = ok \nline with trailing space \n" + std::string(200, 'x') + "\n";
    std::string qp = mime::qp_encode(text);
    EXPECT_NE(qp.find("caf=C3=A9 =3D ok=20\n"), std::string::npos) << qp;
    for (size_t p = 0, nl; p < qp.size(); p = nl + 1) {
        nl = qp.find('\n', p);
        EXPECT_LE(nl - p, 76u);
    }
    EXPECT_EQ(mime::qp_decode(qp), text);
    EXPECT_EQ(mime::qp_decode("a=\r\nb=3D=zz  \nc"), "ab==zz\nc");
    // No output line starts with "--" (a multipart delimiter), even where a
    // soft break falls before one (found by fuzz_signature).
    for (std::string t : {std::string(75, 'x') + "--alt\n", std::string("--alt\n"), std::string(25, '\0') + "--b\n"}) {
        std::string q = mime::qp_encode(t);
        EXPECT_EQ(q.find("\n--"), std::string::npos) << q;
        EXPECT_FALSE(q.starts_with("--")) << q;
        EXPECT_EQ(mime::qp_decode(q), t);
    }
    EXPECT_EQ(mime::qp_encode("-- \nAlice\n"), "=2D-=20\nAlice\n");
}

TEST(Mime, Base64) {
    std::string data(1000, '\0');
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7);
    std::string b = mime::base64_lines(data);
    EXPECT_EQ(b.find('\n'), 76u);
    EXPECT_EQ(mime::base64_decode_body(b), data);
    EXPECT_EQ(mime::base64_decode_body("aGVs\r\n bG8=\n"), "hello");
}

TEST(Mime, HeaderEncoding) {
    EXPECT_EQ(mime::encode_text("plain subject"), "plain subject");
    EXPECT_EQ(mime::encode_text("a\r\nBcc: x"), "a  Bcc: x");
    std::string e = mime::encode_text("R\xc3\xa9union \xe2\x80\x94 " + std::string(80, 'x'));
    EXPECT_TRUE(e.starts_with("=?UTF-8?B?")) << e;
    EXPECT_NE(e.find("\n "), std::string::npos); // folded
    EXPECT_EQ(mime::format_mailbox("Alice Martin", "a@x.test"), "Alice Martin <a@x.test>");
    EXPECT_EQ(mime::format_mailbox("Martin, Alice", "a@x.test"), "\"Martin, Alice\" <a@x.test>");
    EXPECT_EQ(mime::format_mailbox("", "a@x.test"), "a@x.test");
    EXPECT_EQ(mime::filename_param("a \"b\".pdf"), "filename=\"a \\\"b\\\".pdf\"");
    EXPECT_EQ(mime::filename_param("\xc3\xa9t\xc3\xa9.pdf"), "filename*=utf-8''%C3%A9t%C3%A9.pdf");
    EXPECT_EQ(mime::media_type_for("x.PDF"), "application/pdf");
    EXPECT_EQ(mime::media_type_for("noext"), "application/octet-stream");
}

TEST(Mime, Build) {
    mime::Message m;
    m.headers = {{"From", "a@x.test"}, {"Subject", "s"}};
    m.text = "hello";
    std::string one = mime::build(m);
    EXPECT_NE(one.find("Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\nhello\n"),
              std::string::npos)
        << one;
    m.html = "<p>hi</p>";
    m.attachments.push_back({"r.csv", "", "a,b\n"});
    std::string all = mime::build(m);
    EXPECT_NE(all.find("multipart/mixed"), std::string::npos);
    EXPECT_NE(all.find("multipart/alternative"), std::string::npos);
    EXPECT_NE(all.find("Content-Type: text/csv\nContent-Disposition: attachment;\n filename=\"r.csv\""),
              std::string::npos);
}

TEST(Signature, PlainAndUntouched) {
    Signature s;
    s.text = "Alice";
    auto r = add_signature("From: a@x.test\nSubject: s\n\nHello\n", s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->ends_with("\n\nHello\n-- \nAlice\n")) << *r;
    EXPECT_FALSE(add_signature(*r, s)); // already there
    EXPECT_FALSE(add_signature("Content-Type: multipart/signed; boundary=b\n\n--b\n\nx\n--b--\n", s));
    EXPECT_FALSE(add_signature("Content-Type: application/pkcs7-mime\n\nxx\n", s));
    EXPECT_FALSE(add_signature("Subject: s\n\nHello\n", Signature{}));
}

// A quotation after </body> (found by fuzz_signature): the signature goes
// after it, once, however often the message passes.
TEST(Signature, HtmlAfterTheLastQuotationOnce) {
    Signature s;
    s.html = "<p>Alice</p>";
    auto r = add_signature("Content-Type: text/html\n\n<html><body><p>hi</p></body></html>x</blockquote>y\n", s);
    ASSERT_TRUE(r);
    EXPECT_NE(r->find("</blockquote>y\n<div class=\"signature\">"), std::string::npos) << *r;
    EXPECT_FALSE(add_signature(*r, s));
}

TEST(Signature, Base64PartKeepsEncoding) {
    Signature s;
    s.text = "Al\xc3\xaf" "ce";
    std::string msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\n"
                      "Content-Transfer-Encoding: base64\n\nQ2Fm6QoK\n--b\nContent-Type: application/pdf\n\nPDF\n--b--\n";
    auto r = add_signature(msg, s);
    ASSERT_TRUE(r);
    EXPECT_NE(r->find("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n"),
              std::string::npos)
        << *r;
    size_t at = r->find("base64\n\n") + 8;
    std::string b64 = r->substr(at, r->find("\n--b", at) - at);
    EXPECT_EQ(mime::base64_decode_body(b64), "Caf\xc3\xa9\n\n-- \nAl\xc3\xaf" "ce\n");
    EXPECT_NE(r->find("--b\nContent-Type: application/pdf\n\nPDF\n--b--\n"), std::string::npos);
}

TEST(Mime, DowngradeTo7bit) {
    std::string msg = "Subject: s\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; "
                      "charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nd\xc3\xa9j\xc3\xa0\n--b\n"
                      "Content-Type: message/rfc822\n\nSubject: inner\n\n\xc3\xa9\n--b\nContent-Type: "
                      "application/x-bin\n\n\xff\n--b--\n";
    auto r = mime::downgrade_to_7bit(msg);
    ASSERT_TRUE(r);
    for (unsigned char c : *r) EXPECT_LT(c, 0x80);
    EXPECT_NE(r->find("Content-Transfer-Encoding: quoted-printable\n\nd=C3=A9j=C3=A0\n--b"), std::string::npos) << *r;
    EXPECT_NE(r->find("Content-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n\nSubject: inner\n"
                      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n=C3=A9"),
              std::string::npos)
        << *r;
    EXPECT_NE(r->find("Content-Transfer-Encoding: base64\n\n/w==\n--b--"), std::string::npos) << *r;
    EXPECT_EQ(*mime::downgrade_to_7bit("Subject: s\n\nascii\n"), "Subject: s\n\nascii\n");
    EXPECT_FALSE(mime::downgrade_to_7bit("Subject: caf\xc3\xa9\n\nx\n"));
    EXPECT_EQ(*mime::downgrade_to_7bit("Subject: s\n\n\xc3\xa9\n"),
              "Subject: s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n"
              "MIME-Version: 1.0\n\n=C3=A9\n");
}
