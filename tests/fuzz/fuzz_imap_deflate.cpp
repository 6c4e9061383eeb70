// Fuzz COMPRESS=DEFLATE's input side (RFC 4978): any bytes as what a
// client sends after COMPRESS, read as command lines through the Stream's
// inflate. Corrupt or ending streams are the end of input; a small input
// inflating to a great deal (a "bomb") is read a bounded line at a time.
// Then a response is compressed and written. Never a crash.
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "net/stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 60000) return 0; // within a pipe's buffer: written whole before reading
    int p[2];
    if (pipe(p) != 0) return 0;
    if (size > 0 && write(p[1], data, size) != static_cast<ssize_t>(size)) __builtin_trap();
    close(p[1]);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    {
        mail::net::Stream s(p[0], out);
        if (!s.start_deflate()) __builtin_trap();
        std::string line;
        size_t lines = 0, bytes = 0;
        while (lines < 100000) {
            auto r = s.read_line(line, 8192);
            if (r == mail::net::Stream::Line::eof) break;
            if (line.size() > 8192) __builtin_trap();
            lines++;
            bytes += line.size();
        }
        s.write("* OK " + std::to_string(lines) + " lines, " + std::to_string(bytes) + " bytes\r\n");
        (void)s.flush();
    }
    close(p[0]);
    close(out);
    return 0;
}
