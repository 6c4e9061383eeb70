// What every facteur program does around its real work: name its log
// lines, parse its command line with usage errors exiting 64, and turn an
// exception that escapes into a logged error and `on_exception` (75,
// EX_TEMPFAIL, for anything that handles mail: it may work next time).
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <sys/stat.h>

#include "log.hpp"
#include "result.hpp"

namespace mail {

inline int run_tool(const char* name, CLI::App& app, int argc, char** argv,
                    const std::function<int()>& body, Errc on_exception = Errc::tempfail) {
    log::set_program(name);
    // Everything a tool creates in the store is the owner's alone.
    ::umask(077);
    try {
        try {
            app.parse(argc, argv);
        } catch (const CLI::CallForHelp& e) {
            return app.exit(e);
        } catch (const CLI::CallForAllHelp& e) {
            return app.exit(e);
        } catch (const CLI::ParseError& e) {
            fmt::print(stderr, "{}: {}\n", name, e.what());
            return exit_status(Errc::usage);
        }
        return body();
    } catch (const std::exception& e) {
        log::err("internal", "unexpected error: {}", e.what());
    } catch (...) {
        log::err("internal", "unexpected error");
    }
    return exit_status(on_exception);
}

} // namespace mail
