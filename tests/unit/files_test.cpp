#include <gtest/gtest.h>

#include <thread>
#include <unistd.h>

#include "base/encoding.hpp"
#include "base/files.hpp"
#include "deliver/deliver.hpp"

using namespace mail;

TEST(Files, CrlfToLfTable) {
    struct {
        std::string in, out;
    } cases[] = {
        {"", ""},
        {"a\r\nb\r\n", "a\nb\n"},
        {"bare\rcr\n", "bare\rcr\n"},
        {"\r\r\n", "\r\n"},
        {"end\r", "end\r"},
        {std::string("nul\0\r\n", 6), std::string("nul\0\n", 5)},
    };
    for (auto& c : cases) {
        std::string s = c.in;
        s.resize(crlf_to_lf(s.data(), s.size()));
        EXPECT_EQ(s, c.out);
    }
}

// read_fd stops one byte past the limit (so "too big" is visible) and
// otherwise returns everything, across many reads from a pipe.
TEST(Files, ReadFdLimits) {
    for (size_t total : {0ul, 10ul, 200000ul, 1000001ul}) {
        int p[2];
        ASSERT_EQ(pipe(p), 0);
        std::thread writer([&] {
            std::string data(total, 'x');
            (void)write_all(p[1], data, "pipe");
            close(p[1]);
        });
        auto buf = read_fd(p[0], 1000000, "pipe");
        writer.join();
        close(p[0]);
        ASSERT_TRUE(buf);
        EXPECT_EQ(buf->size(), std::min<size_t>(total, 1000001)) << total;
        EXPECT_EQ(buf->view().find_first_not_of('x'), std::string_view::npos);
    }
}
