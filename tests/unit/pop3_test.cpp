#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

#include "pop3/maildrop.hpp"

using namespace mail::pop3;

std::string encode(std::string_view in, long lines, size_t chunk) {
    Pop3Encoder e(lines);
    std::string out;
    for (size_t i = 0; i < in.size(); i += chunk) e.feed(in.substr(i, chunk), out);
    e.finish(out);
    return out;
}

TEST(Pop3Encoder, LineEndsStuffingAndTop) {
    struct {
        const char* in;
        long lines;
        const char* out;
    } cases[] = {
        {"A: b\n\nx\n.y\n", -1, "A: b\r\n\r\nx\r\n..y\r\n"},
        {"A: b\r\n\r\nx\r\n", -1, "A: b\r\n\r\nx\r\n"},
        {"A: b\n\nno end", -1, "A: b\r\n\r\nno end\r\n"},
        {"A: b\n\n1\n2\n3\n", 0, "A: b\r\n\r\n"},
        {"A: b\n\n1\n2\n3\n", 2, "A: b\r\n\r\n1\r\n2\r\n"},
        {"A: b\n\n1\n", 5, "A: b\r\n\r\n1\r\n"},
        {"A: b\nC: d\n", 1, "A: b\r\nC: d\r\n"},
        {".\n", -1, "..\r\n"},
        {"", -1, ""},
    };
    for (auto& c : cases)
        for (size_t chunk = 1; chunk <= 8; chunk++)
            EXPECT_EQ(encode(c.in, c.lines, chunk), c.out) << c.in << " chunk " << chunk;
}

TEST(Pop3Maildrop, CrlfSizeMatchesWhatRetrSends) {
    for (std::string text : {"A: b\n\nx\n.y\n", "A: b\r\n\r\nmixed\nend", "no newline", ""}) {
        char path[] = "/tmp/facteur-pop3-XXXXXX";
        int fd = mkstemp(path);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        close(fd);
        std::string sent = encode(text, -1, 3), unstuffed;
        for (size_t i = 0; i < sent.size(); i++) { // undo the byte-stuffing
            if (sent[i] == '.' && (i == 0 || sent[i - 1] == '\n')) continue;
            unstuffed += sent[i];
        }
        EXPECT_EQ(crlf_size(path).value(), unstuffed.size()) << text;
        unlink(path);
    }
}
