#include "stream.hpp"

#include "base/log.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <algorithm>
#include <ctime>
#include <unistd.h>
#include <zlib.h>

namespace mail::net {

namespace {

const char* deadline_line = "mail: timeout\n";
const char* deadline_goodbye = "";
volatile sig_atomic_t deadline_hit = 0;

[[noreturn]] void deadline_exit() {
    (void)!::write(STDERR_FILENO, deadline_line, std::strlen(deadline_line));
    _exit(0);
}

// The first alarm interrupts the read the session waits in: the stream
// says goodbye and exits (see Stream::raw_read). A session that is not
// reading (its peer does not read either) is ended by the next one.
void deadline_handler(int) {
    if (deadline_hit) deadline_exit();
    deadline_hit = 1;
    alarm(5);
}

std::string ssl_error_text() {
    char buf[256];
    unsigned long e = ERR_get_error();
    if (!e) return "no detail";
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

} // namespace

void TlsContext::Free::operator()(SSL_CTX* c) const { SSL_CTX_free(c); }

Result<TlsContext> TlsContext::server(const std::string& cert, const std::string& key) {
    TlsContext t;
    t.ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!t.ctx_) return make_error(Errc::software, "TLS unavailable", ssl_error_text());
    SSL_CTX_set_min_proto_version(t.get(), TLS1_2_VERSION);
    SSL_CTX_set_options(t.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(t.get(), cert.c_str()) != 1)
        return make_error(Errc::config, "cannot load TLS certificate " + cert, ssl_error_text());
    if (SSL_CTX_use_PrivateKey_file(t.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t.get()) != 1)
        return make_error(Errc::config, "cannot load TLS key " + key, ssl_error_text());
    return t;
}

Result<TlsContext> TlsContext::client(bool verify, const std::string& ca_file) {
    TlsContext t;
    t.ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!t.ctx_) return make_error(Errc::software, "TLS unavailable", ssl_error_text());
    SSL_CTX_set_min_proto_version(t.get(), TLS1_2_VERSION);
    if (verify) {
        SSL_CTX_set_verify(t.get(), SSL_VERIFY_PEER, nullptr);
        int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(t.get())
                                 : SSL_CTX_load_verify_locations(t.get(), ca_file.c_str(), nullptr);
        if (ok != 1)
            return make_error(Errc::config, "cannot load TLS CA certificates " + ca_file,
                              ssl_error_text());
    }
    return t;
}

Status LazyTls::load() {
    if (ctx_) return {};
    auto ctx = TlsContext::server(cert_, key_);
    if (!ctx) return ctx.error();
    ctx_ = std::move(*ctx);
    return {};
}

Status LazyTls::start(Stream& io) {
    MAIL_TRY(load());
    return io.start_tls(*ctx_);
}

Result<TlsOptions> tls_options(const Config& cfg, std::string_view mode) {
    TlsOptions o;
    if (mode == "none") return o;
    o.offer = true;
    o.implicit = mode == "implicit";
    o.cert = cfg.cert_path();
    o.key = cfg.key_path();
    pid_t pid = fork();
    if (pid == 0) {
        auto t = TlsContext::server(o.cert, o.key);
        if (!t) log::error("tls", t.error());
        _exit(t ? 0 : 78);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return sys_error("check TLS files", o.cert);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return make_error(Errc::config, "cannot load TLS certificate or key " + o.cert);
    return o;
}

void on_deadline_exit(const char* log_line, const char* goodbye) {
    deadline_line = log_line;
    deadline_goodbye = goodbye;
    struct sigaction sa {}; // no SA_RESTART: the blocked read returns EINTR
    sa.sa_handler = deadline_handler;
    sigaction(SIGALRM, &sa, nullptr);
}

void set_deadline(unsigned seconds) {
    // FACTEUR_DEADLINE (tests): every deadline this many seconds.
    if (const char* t = getenv("FACTEUR_DEADLINE"); t && seconds) seconds = static_cast<unsigned>(atoi(t));
    alarm(seconds);
}

void clear_deadline() {
    alarm(0);
    deadline_hit = 0;
}

void Stream::deadline_goodbye_and_exit() {
    out_buf_ = deadline_goodbye;
    alarm(5); // should the peer not read the goodbye
    (void)flush();
    deadline_exit();
}

// COMPRESS=DEFLATE: a raw deflate stream each way (RFC 4978 2: no zlib
// header), the input waiting to be inflated, whether inflate() may hold
// more output than it gave last time.
struct Stream::Deflate {
    z_stream out{}, in{};
    std::string pending; // compressed bytes read, not yet inflated
    size_t used = 0;     // of `pending`
    bool more = false;   // the last inflate() filled its output buffer
    bool out_ok = false, in_ok = false;
    ~Deflate() {
        if (out_ok) deflateEnd(&out);
        if (in_ok) inflateEnd(&in);
    }
};

Stream::Stream(int in, int out) : in_(in), out_(out) {}

Stream::~Stream() {
    if (ssl_) {
        if (!finished_) SSL_shutdown(ssl_);
        SSL_free(ssl_);
    }
}

void Stream::finish() {
    if (finished_) return;
    finished_ = true;
    (void)flush();
    if (ssl_) SSL_shutdown(ssl_);
    (void)::shutdown(out_, SHUT_WR); // fails harmlessly on a pipe
}

namespace {
int64_t monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
} // namespace

void Stream::set_read_deadline(int64_t ms, int step_ms) {
    deadline_ms_ = ms > 0 ? monotonic_ms() + ms : 0;
    step_ms_ = step_ms;
    timed_out_ = false;
    if (!deadline_ms_) {
        timeval tv{step_ms / 1000, (step_ms % 1000) * 1000};
        (void)setsockopt(in_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
}

bool Stream::before_read() {
    if (!deadline_ms_) return true;
    int64_t left = deadline_ms_ - monotonic_ms();
    if (left <= 0) return !(timed_out_ = true);
    int64_t wait = step_ms_ > 0 ? std::min<int64_t>(left, step_ms_) : left;
    timeval tv{static_cast<time_t>(wait / 1000), static_cast<suseconds_t>((wait % 1000) * 1000)};
    (void)setsockopt(in_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); // not a socket: poll-free, the caller's timeouts
    return true;
}

Status Stream::start_deflate() {
    auto z = std::make_unique<Deflate>();
    // Level 6 with a 32 KB window, as Dovecot and most servers use.
    if (deflateInit2(&z->out, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return make_error(Errc::tempfail, "compression not available", "deflateInit2");
    z->out_ok = true;
    if (inflateInit2(&z->in, -15) != Z_OK) return make_error(Errc::tempfail, "compression not available", "inflateInit2");
    z->in_ok = true;
    z->pending.assign(buffered()); // pipelined after COMPRESS: already compressed
    discard_input();
    zout_ = std::move(z);
    return {};
}

long Stream::raw_read(char* buf, size_t n) {
    if (!zout_) return plain_read(buf, n);
    Deflate& z = *zout_;
    for (;;) {
        if (z.used == z.pending.size() && !z.more) {
            z.pending.resize(16 * 1024);
            long got = plain_read(z.pending.data(), z.pending.size());
            z.pending.resize(got > 0 ? static_cast<size_t>(got) : 0);
            z.used = 0;
            if (got <= 0) return got;
        }
        z.in.next_in = reinterpret_cast<Bytef*>(z.pending.data() + z.used);
        z.in.avail_in = static_cast<uInt>(z.pending.size() - z.used);
        z.in.next_out = reinterpret_cast<Bytef*>(buf);
        z.in.avail_out = static_cast<uInt>(n);
        int r = inflate(&z.in, Z_SYNC_FLUSH);
        z.used = z.pending.size() - z.in.avail_in;
        size_t made = n - z.in.avail_out;
        z.more = z.in.avail_out == 0;
        if (r != Z_OK && !(r == Z_BUF_ERROR && made == 0)) { // corrupt, or the stream ended
            log::warn("net.deflate", "compressed input refused: {}", z.in.msg ? z.in.msg : "end of stream");
            return -1;
        }
        if (made > 0) return static_cast<long>(made);
    }
}

long Stream::plain_read(char* buf, size_t n) {
    for (;;) {
        if (deadline_hit) deadline_goodbye_and_exit();
        if (!before_read()) return -1;
        if (ssl_) {
            int r = SSL_read(ssl_, buf, static_cast<int>(n));
            if (r > 0) return r;
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_SYSCALL && errno == EINTR) continue;
            return -1;
        }
        ssize_t r = ::read(in_, buf, n);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

bool Stream::fill() {
    constexpr size_t chunk = 16 * 1024;
    if (pos_ > 0 && pos_ * 2 >= in_buf_.size()) {
        in_buf_.erase(0, pos_);
        pos_ = 0;
    }
    size_t old = in_buf_.size();
    in_buf_.resize(old + chunk);
    long n = raw_read(in_buf_.data() + old, chunk);
    in_buf_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    return n > 0;
}

Stream::Line Stream::read_line(std::string& line, size_t max) {
    bool too_long = false;
    for (;;) {
        std::string_view b = buffered();
        size_t lf = b.find('\n');
        if (lf != std::string_view::npos) {
            size_t end = lf > 0 && b[lf - 1] == '\r' ? lf - 1 : lf;
            too_long = too_long || end > max;
            if (too_long) line.clear(); // never more than `max` bytes kept
            else line.assign(b.substr(0, end));
            consume(lf + 1);
            return too_long ? Line::too_long : Line::ok;
        }
        if (b.size() > max + 1) { // skip what we have, keep looking for the end
            too_long = true;
            consume(b.size());
        }
        if (!fill()) return Line::eof;
    }
}

bool Stream::wait_input(int ms) {
    if (!buffered().empty()) return true;
    if (zout_ && (zout_->used < zout_->pending.size() || zout_->more)) return true;
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    pollfd p{in_, POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, ms)) < 0 && errno == EINTR) {}
    return r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

bool Stream::flush() {
    if (out_buf_.empty()) return true;
    if (!zout_) {
        bool ok = plain_write(out_buf_);
        out_buf_.clear();
        return ok;
    }
    // Compressed, each flush a sync flush: the peer can read every
    // response as soon as it is sent.
    Deflate& z = *zout_;
    z.out.next_in = reinterpret_cast<Bytef*>(out_buf_.data());
    z.out.avail_in = static_cast<uInt>(out_buf_.size());
    std::string packed;
    char chunk[16 * 1024];
    do {
        z.out.next_out = reinterpret_cast<Bytef*>(chunk);
        z.out.avail_out = sizeof chunk;
        if (deflate(&z.out, Z_SYNC_FLUSH) == Z_STREAM_ERROR) {
            out_buf_.clear();
            return false;
        }
        packed.append(chunk, sizeof chunk - z.out.avail_out);
    } while (z.out.avail_out == 0);
    out_buf_.clear();
    return plain_write(packed);
}

bool Stream::plain_write(std::string_view d) {
    while (!d.empty()) {
        long n;
        if (ssl_) {
            int r = SSL_write(ssl_, d.data(), static_cast<int>(d.size()));
            n = r > 0 ? r : -1;
        } else {
            n = ::write(out_, d.data(), d.size());
            if (n < 0 && errno == EINTR) continue;
        }
        if (n <= 0) return false;
        d.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

Status Stream::start_tls(const TlsContext& ctx) {
    discard_input();
    ssl_ = SSL_new(ctx.get());
    if (!ssl_) return make_error(Errc::tempfail, "TLS not available", ssl_error_text());
    SSL_set_rfd(ssl_, in_);
    SSL_set_wfd(ssl_, out_);
    if (SSL_accept(ssl_) != 1) {
        std::string why = ssl_error_text();
        SSL_free(ssl_);
        ssl_ = nullptr;
        return make_error(Errc::data, "TLS handshake failed", why);
    }
    return {};
}

Status Stream::start_tls_client(const TlsContext& ctx, const std::string& host) {
    discard_input();
    ssl_ = SSL_new(ctx.get());
    if (!ssl_) return make_error(Errc::tempfail, "TLS not available", ssl_error_text());
    SSL_set_rfd(ssl_, in_);
    SSL_set_wfd(ssl_, out_);
    in6_addr ip;
    bool numeric = inet_pton(AF_INET, host.c_str(), &ip) == 1 || inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    if (!numeric) SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
        if (numeric) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
        else X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
    if (SSL_connect(ssl_) != 1) {
        std::string why = ssl_error_text();
        long v = SSL_get_verify_result(ssl_);
        if (v != X509_V_OK) why = X509_verify_cert_error_string(v);
        SSL_free(ssl_);
        ssl_ = nullptr;
        return make_error(Errc::tempfail, "TLS handshake failed: " + why);
    }
    return {};
}

std::string Stream::tls_version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string Stream::tls_cipher() const {
    return ssl_ ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)) : "";
}

} // namespace mail::net
