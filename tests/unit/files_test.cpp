#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "base/confine.hpp"
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

// confine_to in a child (it cannot be undone): inside the directory it
// reads, writes, renames and makes directories; outside it opens nothing,
// not even for reading. Each check is a bit of the child's exit status.
TEST(Confine, OnlyTheDirectoryIsReachable) {
    char tmpl[] = "/tmp/facteur-confine-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string base = tmpl, box = base + "/box", other = base + "/other";
    ASSERT_EQ(mkdir(box.c_str(), 0700), 0);
    ASSERT_EQ(mkdir(other.c_str(), 0700), 0);
    ASSERT_TRUE(durable_write(other + "/.t", other + "/mail", {"secret"}));
    pid_t pid = fork();
    if (pid == 0) {
        auto confined = confine_to(box);
        if (!confined) _exit(100);
        if (!*confined) _exit(101); // no Landlock here
        int bad = 0;
        if (!durable_write(box + "/tmp.1", box + "/mail", {"mine"})) bad |= 1;
        if (mkdir((box + "/.Work").c_str(), 0700) != 0) bad |= 2;
        if (rename((box + "/mail").c_str(), (box + "/.Work/mail").c_str()) != 0) bad |= 4;
        if (!read_file(box + "/.Work/mail", 100)) bad |= 8;
        errno = 0;
        if (open((other + "/mail").c_str(), O_RDONLY) >= 0 || errno != EACCES) bad |= 16;
        if (open("/etc/passwd", O_RDONLY) >= 0) bad |= 32;
        if (open((other + "/new").c_str(), O_WRONLY | O_CREAT, 0600) >= 0) bad |= 64;
        _exit(bad);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    std::string cmd = "rm -rf " + base;
    ASSERT_EQ(system(cmd.c_str()), 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 101) GTEST_SKIP() << "no Landlock in this kernel";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}
