// The command line of mail-deliver and mail-deliver-local: one, since
// mail-deliver hands its arguments to mail-deliver-local unchanged.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

struct DeliverArgs {
    std::optional<std::string> config;
    std::string sender;
    bool print_status = false;
    std::vector<std::string> rcpts;
};

inline void add_deliver_options(CLI::App& app, DeliverArgs& a) {
    app.add_option("--config", a.config, "configuration file");
    app.add_option("-f,--from", a.sender, "envelope sender (Return-Path)");
    app.add_flag("--status", a.print_status, "print one status line per recipient");
    app.add_option("address", a.rcpts, "recipient addresses")->required();
}
