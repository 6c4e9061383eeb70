#include "encoding.hpp"

#include <algorithm>
#include <cstdint>

namespace mail {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64val(char c) {
    const char* p = std::find(alphabet, alphabet + 64, c);
    return p == alphabet + 64 ? -1 : static_cast<int>(p - alphabet);
}

} // namespace

std::string base64_encode(std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); i += 3) {
        uint32_t n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? alphabet[n & 63] : '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
    if (in == "=") return std::string();
    if (in.size() % 4) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < in.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            bool last = i + 4 == in.size();
            if (c == '=' && last && k >= 2 && (k == 3 || in[i + 3] == '=')) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = b64val(c)) < 0) {
                return std::nullopt;
            }
        }
        uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        out += static_cast<char>(n >> 16);
        if (pad < 2) out += static_cast<char>((n >> 8) & 255);
        if (pad < 1) out += static_cast<char>(n & 255);
    }
    // Only the canonical form: no stray bits in the last symbol ("Ye==").
    if (base64_encode(out) != in) return std::nullopt;
    return out;
}

size_t crlf_to_lf(char* data, size_t size) {
    size_t w = 0;
    for (size_t r = 0; r < size; r++) {
        if (data[r] == '\r' && r + 1 < size && data[r + 1] == '\n') continue;
        data[w++] = data[r];
    }
    return w;
}

void CrlfFilter::feed(std::string_view in, std::string& out) {
    for (char c : in) {
        if (cr_) {
            cr_ = false;
            if (c != '\n') out += '\r', bare_++;
        } else if (c == '\n') {
            bare_++;
        }
        if (c == '\r') cr_ = true;
        else out += c;
    }
}

void CrlfFilter::finish(std::string& out) {
    if (cr_) out += '\r', bare_++;
    cr_ = false;
}

} // namespace mail
