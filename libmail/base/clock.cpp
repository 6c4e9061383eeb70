#include "clock.hpp"

#include <cstdlib>
#include <ctime>

namespace mail {

int64_t now() {
    int64_t real = static_cast<int64_t>(time(nullptr));
    const char* v = std::getenv("FACTEUR_NOW");
    if (!v || !*v) return real;
    char* end = nullptr;
    long long n = std::strtoll(v + (*v == '+'), &end, 10);
    if (*end) return real; // not a number: the real time
    return *v == '+' ? real + n : n;
}

} // namespace mail
