#include "ip.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <vector>

namespace mail::verify {

std::optional<Ip> parse_ip(const std::string& s) {
    Ip ip;
    if (inet_pton(AF_INET, s.c_str(), ip.b) == 1) return ip;
    if (inet_pton(AF_INET6, s.c_str(), ip.b) != 1) return std::nullopt;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(ip.b, mapped, 12) == 0) { // IPv4-mapped: checked as IPv4 (RFC 7208 5)
        std::memmove(ip.b, ip.b + 12, 4);
        std::memset(ip.b + 4, 0, 12);
        return ip;
    }
    ip.v6 = true;
    return ip;
}

bool in_network(const Ip& ip, const Ip& net, int bits) {
    if (ip.v6 != net.v6) return false;
    for (int i = 0; i < bits / 8; i++)
        if (ip.b[i] != net.b[i]) return false;
    if (bits % 8) {
        unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits % 8));
        if ((ip.b[bits / 8] & mask) != (net.b[bits / 8] & mask)) return false;
    }
    return true;
}

std::optional<std::pair<Ip, int>> parse_network(std::string_view spec) {
    size_t slash = spec.find('/');
    auto ip = parse_ip(std::string(spec.substr(0, slash)));
    if (!ip) return std::nullopt;
    int max = ip->v6 ? 128 : 32, bits = max;
    if (slash != std::string_view::npos) {
        std::string_view b = spec.substr(slash + 1);
        if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
        bits = std::stoi(std::string(b));
        if (bits > max) return std::nullopt;
    }
    return std::make_pair(*ip, bits);
}

std::string network_of(const std::string& text, int bits4, int bits6) {
    auto ip = parse_ip(text);
    if (!ip) return "";
    int bits = ip->v6 ? bits6 : bits4;
    for (int i = 0; i < 16; i++) {
        int keep = std::clamp(bits - i * 8, 0, 8);
        ip->b[i] &= static_cast<unsigned char>(0xff00 >> keep);
    }
    return readable(*ip) + "/" + std::to_string(bits);
}

std::string dotted(const Ip& ip) {
    if (!ip.v6) return fmt::format("{}.{}.{}.{}", ip.b[0], ip.b[1], ip.b[2], ip.b[3]);
    std::string out;
    for (int i = 0; i < 16; i++) {
        if (i) out += '.';
        out += fmt::format("{:x}.{:x}", ip.b[i] >> 4, ip.b[i] & 15);
    }
    return out;
}

std::string readable(const Ip& ip) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.b, buf, sizeof buf);
    return buf;
}

std::string reversed(const Ip& ip) {
    std::string d = dotted(ip), out;
    std::vector<std::string> parts(1);
    for (char c : d) {
        if (c == '.') parts.emplace_back();
        else parts.back() += c;
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += *it + ".";
    return out;
}

} // namespace mail::verify
