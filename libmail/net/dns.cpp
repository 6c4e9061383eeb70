#include "dns.hpp"

#include <algorithm>
#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <map>
#include <random>

namespace mail::net {

namespace {

constexpr int type_mx = 15, class_in = 1;

bool numeric(const std::string& host) {
    in6_addr a;
    return inet_pton(AF_INET, host.c_str(), &a) == 1 || inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool temporary(int status) { return status != ARES_ENOTFOUND && status != ARES_ENODATA; }

Error dns_error(int status, const std::string& name) {
    if (status == ARES_ENOTFOUND)
        return make_error(Errc::unavailable, "5.1.2 domain " + name + " does not exist");
    return make_error(Errc::tempfail,
                      fmt::format("4.4.3 DNS lookup for {} failed: {}", name, ares_strerror(status)));
}

struct MxAnswer {
    int status = ARES_ETIMEOUT;
    std::vector<MailHost> hosts;
    bool null_mx = false;
};

void on_mx(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto* a = static_cast<MxAnswer*>(arg);
    a->status = status;
    if (status != ARES_SUCCESS) return;
    ares_mx_reply* mx = nullptr;
    a->status = ares_parse_mx_reply(abuf, alen, &mx);
    for (ares_mx_reply* m = mx; m; m = m->next) {
        std::string host = m->host ? m->host : "";
        if (host.empty() || host == ".") a->null_mx = true;
        else a->hosts.push_back(MailHost{host, m->priority, {}});
    }
    if (mx) ares_free_data(mx);
}

struct AddrAnswer {
    MailHost* host;
    int* status;
};

void on_addr(void* arg, int status, int, ares_addrinfo* res) {
    auto* a = static_cast<AddrAnswer*>(arg);
    *a->status = status;
    if (status == ARES_SUCCESS && res)
        for (ares_addrinfo_node* n = res->nodes; n; n = n->ai_next) {
            char buf[INET6_ADDRSTRLEN] = "";
            const void* p = n->ai_family == AF_INET6
                                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr)
                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr);
            if (inet_ntop(n->ai_family, p, buf, sizeof buf) &&
                std::find(a->host->addresses.begin(), a->host->addresses.end(), buf) ==
                    a->host->addresses.end())
                a->host->addresses.push_back(buf);
        }
    if (res) ares_freeaddrinfo(res);
    delete a;
}

struct Query {
    RrType type;
    DnsAnswer answer;
};

void host_names(hostent* h, std::vector<std::string>& out) {
    if (!h) return;
    if (h->h_name) out.push_back(h->h_name);
    for (char** a = h->h_aliases; a && *a; a++) out.push_back(*a);
}

void on_query(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto& a = static_cast<Query*>(arg)->answer;
    RrType type = static_cast<Query*>(arg)->type;
    if (status == ARES_ENOTFOUND) return void(a.kind = DnsAnswer::nxdomain);
    if (status == ARES_ENODATA) return void(a.kind = DnsAnswer::nodata);
    if (status != ARES_SUCCESS) {
        a.kind = DnsAnswer::failed;
        a.error = ares_strerror(status);
        return;
    }
    int r = ARES_SUCCESS;
    hostent* h = nullptr;
    switch (type) {
    case RrType::a:
    case RrType::aaaa: {
        r = type == RrType::a ? ares_parse_a_reply(abuf, alen, &h, nullptr, nullptr)
                              : ares_parse_aaaa_reply(abuf, alen, &h, nullptr, nullptr);
        for (char** p = h && r == ARES_SUCCESS ? h->h_addr_list : nullptr; p && *p; p++) {
            char buf[INET6_ADDRSTRLEN] = "";
            if (inet_ntop(h->h_addrtype, *p, buf, sizeof buf)) a.values.push_back(buf);
        }
        break;
    }
    case RrType::ptr: {
        unsigned char any[16] = {};
        r = ares_parse_ptr_reply(abuf, alen, any, 4, AF_INET, &h);
        if (r == ARES_SUCCESS) host_names(h, a.values);
        break;
    }
    case RrType::mx: {
        ares_mx_reply* mx = nullptr;
        r = ares_parse_mx_reply(abuf, alen, &mx);
        for (ares_mx_reply* m = mx; m; m = m->next) a.values.push_back(m->host ? m->host : "");
        if (mx) ares_free_data(mx);
        break;
    }
    case RrType::txt: {
        ares_txt_ext* txt = nullptr;
        r = ares_parse_txt_reply_ext(abuf, alen, &txt);
        for (ares_txt_ext* t = txt; t; t = t->next) {
            if (t->record_start || a.values.empty()) a.values.emplace_back();
            a.values.back().append(reinterpret_cast<const char*>(t->txt), t->length);
        }
        if (txt) ares_free_data(txt);
        break;
    }
    }
    if (h) ares_free_hostent(h);
    if (r == ARES_ENODATA || (r == ARES_SUCCESS && a.values.empty())) a.kind = DnsAnswer::nodata;
    else if (r != ARES_SUCCESS) a.kind = DnsAnswer::failed, a.error = ares_strerror(r);
    else a.kind = DnsAnswer::found;
}

} // namespace

std::string dsn_of(const Error& e) {
    size_t sp = e.user.find(' ');
    std::string code = e.user.substr(0, sp);
    return code.size() >= 5 && code[1] == '.' ? code : e.code == Errc::tempfail ? "4.4.3" : "5.4.4";
}

Result<Resolver> Resolver::open(const std::string& servers, int timeout_ms) {
    static int init = ares_library_init(ARES_LIB_INIT_ALL);
    if (init != ARES_SUCCESS)
        return make_error(Errc::tempfail, "4.4.3 DNS not available", ares_strerror(init));
    ares_options o{};
    o.timeout = std::max(timeout_ms, 100);
    o.tries = 2;
    ares_channel ch = nullptr;
    int r = ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (r != ARES_SUCCESS)
        return make_error(Errc::tempfail, "4.4.3 DNS not available", ares_strerror(r));
    Resolver res(ch);
    if (!servers.empty() && (r = ares_set_servers_ports_csv(ch, servers.c_str())) != ARES_SUCCESS)
        return make_error(Errc::config, "invalid DNS servers '" + servers + "'", ares_strerror(r));
    return res;
}

struct Resolver::Prefetched {
    std::map<std::pair<std::string, RrType>, Query> asked; // nodes stay put: c-ares holds their address
};

Resolver::Resolver(ares_channel ch) : ch_(ch) {}

Resolver::Resolver(Resolver&& o) noexcept : ch_(o.ch_), prefetched_(std::move(o.prefetched_)) { o.ch_ = nullptr; }

Resolver::~Resolver() {
    if (ch_) ares_destroy(ch_); // in-flight callbacks run (cancelled) before prefetched_ goes
}

void Resolver::prefetch(const std::vector<std::pair<std::string, RrType>>& questions) {
    if (!prefetched_) prefetched_ = std::make_unique<Prefetched>();
    for (auto& question : questions) {
        auto [it, added] = prefetched_->asked.try_emplace(question);
        if (!added) continue;
        it->second.type = question.second;
        it->second.answer.error = "no answer";
        ares_query(ch_, question.first.c_str(), class_in, static_cast<int>(question.second), on_query, &it->second);
    }
}

void Resolver::forget_prefetched() {
    if (!prefetched_ || prefetched_->asked.empty()) return;
    ares_cancel(ch_); // their callbacks run now, while the answers still exist
    prefetched_->asked.clear();
}

void Resolver::wait() {
    for (;;) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        int bits = ares_getsock(ch_, socks, ARES_GETSOCK_MAXNUM);
        pollfd pf[ARES_GETSOCK_MAXNUM];
        int n = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            bool r = ARES_GETSOCK_READABLE(bits, i), w = ARES_GETSOCK_WRITABLE(bits, i);
            if (r || w) pf[n++] = pollfd{socks[i], short((r ? POLLIN : 0) | (w ? POLLOUT : 0)), 0};
        }
        if (n == 0) return; // nothing in flight
        timeval tv{};
        timeval* t = ares_timeout(ch_, nullptr, &tv);
        int ms = t ? static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000) : 1000;
        int got = ::poll(pf, static_cast<nfds_t>(n), ms);
        if (got <= 0) {
            ares_process_fd(ch_, ARES_SOCKET_BAD, ARES_SOCKET_BAD); // timeouts
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (!pf[i].revents) continue;
            bool r = pf[i].revents & (POLLIN | POLLERR | POLLHUP);
            bool w = pf[i].revents & POLLOUT;
            ares_process_fd(ch_, r ? pf[i].fd : ARES_SOCKET_BAD, w ? pf[i].fd : ARES_SOCKET_BAD);
        }
    }
}

void Resolver::lookup_addresses(std::vector<MailHost>& hosts, std::vector<int>& status) {
    status.assign(hosts.size(), ARES_SUCCESS);
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    for (size_t i = 0; i < hosts.size(); i++) {
        if (numeric(hosts[i].name)) {
            hosts[i].addresses = {hosts[i].name};
            continue;
        }
        ares_getaddrinfo(ch_, hosts[i].name.c_str(), nullptr, &hints, on_addr,
                         new AddrAnswer{&hosts[i], &status[i]});
    }
    wait();
}

Result<std::vector<std::string>> Resolver::addresses(const std::string& host) {
    std::vector<MailHost> hosts{MailHost{host, 0, {}}};
    std::vector<int> status;
    lookup_addresses(hosts, status);
    if (!hosts[0].addresses.empty()) return hosts[0].addresses;
    if (temporary(status[0])) return dns_error(status[0], host);
    return make_error(Errc::unavailable, "5.4.4 host " + host + " has no address");
}

DnsAnswer Resolver::query(const std::string& name, RrType type) {
    return query_all({{name, type}})[0];
}

std::vector<DnsAnswer> Resolver::query_all(const std::vector<std::pair<std::string, RrType>>& questions) {
    std::vector<Query> qs(questions.size());
    std::vector<const Query*> from(questions.size(), nullptr); // prefetched
    for (size_t i = 0; i < questions.size(); i++) {
        if (prefetched_) {
            auto it = prefetched_->asked.find(questions[i]);
            if (it != prefetched_->asked.end()) {
                from[i] = &it->second;
                continue;
            }
        }
        qs[i].type = questions[i].second;
        qs[i].answer.error = "no answer";
        ares_query(ch_, questions[i].first.c_str(), class_in, static_cast<int>(qs[i].type), on_query, &qs[i]);
    }
    wait(); // the prefetched ones too: everything in flight on the channel
    std::vector<DnsAnswer> out;
    for (size_t i = 0; i < qs.size(); i++) out.push_back(from[i] ? from[i]->answer : std::move(qs[i].answer));
    return out;
}

Result<std::vector<MailHost>> Resolver::mail_hosts(const std::string& domain) {
    MxAnswer mx;
    ares_query(ch_, domain.c_str(), class_in, type_mx, on_mx, &mx);
    wait();
    if (mx.status == ARES_ENODATA) { // no MX: the domain itself (RFC 5321 5.1)
        mx.hosts = {MailHost{domain, 0, {}}};
    } else if (mx.status != ARES_SUCCESS) {
        return dns_error(mx.status, domain);
    } else if (mx.hosts.empty()) {
        return make_error(Errc::unavailable, "5.1.10 domain " + domain + " accepts no mail (null MX)");
    }
    static std::mt19937 rng{std::random_device{}()};
    std::shuffle(mx.hosts.begin(), mx.hosts.end(), rng);
    std::stable_sort(mx.hosts.begin(), mx.hosts.end(),
                     [](auto& a, auto& b) { return a.preference < b.preference; });
    std::vector<int> status;
    lookup_addresses(mx.hosts, status);
    bool temp = false;
    std::vector<MailHost> out;
    for (size_t i = 0; i < mx.hosts.size(); i++) {
        if (!mx.hosts[i].addresses.empty()) out.push_back(std::move(mx.hosts[i]));
        else if (temporary(status[i])) temp = true;
    }
    if (!out.empty()) return out;
    if (temp) return make_error(Errc::tempfail, "4.4.3 no address found for the mail hosts of " + domain);
    return make_error(Errc::unavailable, "5.4.4 no mail host of " + domain + " has an address");
}

} // namespace mail::net
