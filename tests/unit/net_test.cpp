// The byte stream's bounded line reader and the peer of a socket.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "base/files.hpp"
#include "net/listen.hpp"
#include "net/stream.hpp"

using namespace mail;

namespace {

// A stream reading what `feed` writes from the other end of a socket pair.
struct Pair {
    int fd[2];
    Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
    ~Pair() {
        close(fd[0]);
        if (fd[1] >= 0) close(fd[1]);
    }
    void feed(std::string_view s) { EXPECT_TRUE(write_all(fd[1], s, "pair")); }
    void hang_up() { close(fd[1]), fd[1] = -1; }
};

} // namespace

TEST(NetStream, LinesCrlfBareLfAndTheEnd) {
    Pair p;
    p.feed("HELO a\r\nbare lf\nlast");
    p.hang_up();
    net::Stream s(p.fd[0], p.fd[0]);
    std::string line;
    ASSERT_EQ(s.read_line(line, 100), net::Stream::Line::ok);
    EXPECT_EQ(line, "HELO a");
    ASSERT_EQ(s.read_line(line, 100), net::Stream::Line::ok);
    EXPECT_EQ(line, "bare lf");
    // An unterminated line at the end is no command.
    EXPECT_EQ(s.read_line(line, 100), net::Stream::Line::eof);
}

TEST(NetStream, TooLongLineIsSkippedAndTheNextOneRead) {
    Pair p;
    std::thread writer([&] {
        p.feed(std::string(1 << 20, 'x') + "\r\nNOOP\r\n");
        p.hang_up();
    });
    net::Stream s(p.fd[0], p.fd[0]);
    std::string line;
    EXPECT_EQ(s.read_line(line, 512), net::Stream::Line::too_long);
    ASSERT_EQ(s.read_line(line, 512), net::Stream::Line::ok);
    EXPECT_EQ(line, "NOOP");
    writer.join();
}

// A too-long line that arrives whole in one read is not kept either.
TEST(NetStream, TooLongLineInOneReadKeepsNothing) {
    Pair p;
    p.feed(std::string(600, 'y') + "\r\nNOOP\r\n");
    p.hang_up();
    net::Stream s(p.fd[0], p.fd[0]);
    std::string line = "before";
    EXPECT_EQ(s.read_line(line, 512), net::Stream::Line::too_long);
    EXPECT_TRUE(line.empty());
    ASSERT_EQ(s.read_line(line, 512), net::Stream::Line::ok);
    EXPECT_EQ(line, "NOOP");
}

TEST(NetStream, WritesAreBufferedUntilFlush) {
    Pair p;
    net::Stream s(p.fd[0], p.fd[0]);
    s.write("250 ");
    s.write("OK\r\n");
    EXPECT_FALSE(s.input_pending());
    ASSERT_TRUE(s.flush());
    char buf[16] = {};
    EXPECT_EQ(read(p.fd[1], buf, sizeof buf), 8);
    EXPECT_EQ(std::string(buf), "250 OK\r\n");
}

TEST(NetPeer, UnixSocketIsLocal) {
    Pair p;
    net::Peer peer = net::peer_of(p.fd[0]);
    EXPECT_TRUE(peer.loopback);
}
