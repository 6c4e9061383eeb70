// The byte stream's bounded line reader and the peer of a socket.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "base/files.hpp"
#include "net/dns.hpp"
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

namespace {

// A DNS server on a loopback UDP port for the resolver's tests: every
// question gets one TXT record, "answer N" (N counts the questions).
class TxtServer {
  public:
    TxtServer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TxtServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
    int questions() const { return questions_; }

  private:
    void serve() {
        unsigned char q[512];
        while (!stop_) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 12) continue;
            std::string text = "answer " + std::to_string(++questions_);
            std::string r(reinterpret_cast<char*>(q), static_cast<size_t>(n));
            r[2] = static_cast<char>(0x81), r[3] = static_cast<char>(0x80); // response, recursion available
            r[7] = 1;                                                        // one answer
            r += std::string("\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00", 11);
            r += static_cast<char>(text.size() + 1);
            r += static_cast<char>(text.size());
            r += text;
            ::sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }
    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> questions_{0};
    std::thread thread_;
};

} // namespace

TEST(NetResolver, PrefetchedAnswersAreTakenNotAskedAgain) {
    TxtServer server;
    auto r = net::Resolver::open(server.servers(), 2000);
    ASSERT_TRUE(r);
    r->prefetch({{"example.org", net::RrType::txt}, {"_dmarc.example.org", net::RrType::txt}});
    auto answers = r->query_all({{"example.org", net::RrType::txt}, {"other.example", net::RrType::txt}});
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].kind, net::DnsAnswer::found);
    EXPECT_EQ(server.questions(), 3); // two prefetched, one asked
    auto again = r->query("_dmarc.example.org", net::RrType::txt);
    ASSERT_EQ(again.kind, net::DnsAnswer::found);
    EXPECT_EQ(server.questions(), 3);
    // A new transaction: the old answers go, the question is asked again.
    r->forget_prefetched();
    auto fresh = r->query("example.org", net::RrType::txt);
    ASSERT_EQ(fresh.kind, net::DnsAnswer::found);
    EXPECT_EQ(fresh.values, std::vector<std::string>{"answer 4"});
    // Forgotten while still in flight: cancelled, nothing written later.
    r->prefetch({{"late.example", net::RrType::txt}});
    r->forget_prefetched();
    EXPECT_EQ(r->query("x.example", net::RrType::txt).kind, net::DnsAnswer::found);
}
