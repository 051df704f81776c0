// Logging to stderr through spdlog: start-up and error lines, and one access line per request.
// Request bodies, prompts and headers are never logged: they can be private.
#pragma once

#include <string_view>

namespace meter::log {

// Sets the line format; `access` turns access lines on or off (--no-access-log).
void init(bool access);

void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);
void access(std::string_view line);
bool access_enabled(); // callers skip formatting a line nobody reads

} // namespace meter::log
