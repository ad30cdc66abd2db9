#pragma once
// The log facade: one line per decision.
//
// Under systemd (stderr connected to the journal, detected through $JOURNAL_STREAM as
// systemd.exec(5) documents) each line goes to journald with structured fields
// (HASPOOL_EVENT, HASPOOL_FROM, HASPOOL_TO, HASPOOL_REASON, ...); otherwise it is one plain line
// on stderr. Library code returns errors and logs at most at debug level; the caller that
// decides logs once.
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haspool::log {

// Same numbering as syslog priorities, so journald's PRIORITY= is the enum value.
enum class Level { critical = 2, error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

const char* level_name(Level level);
// "debug", "info", "notice", "warning", "error", "critical" -> the level; nullopt otherwise.
std::optional<Level> parse_level(std::string_view name);

// A structured field; key without the HASPOOL_ prefix is given the prefix ("EVENT" ->
// "HASPOOL_EVENT"), except journald's MESSAGE_ID (message_ids.hpp). Keys are upper case ASCII,
// as journald requires.
struct Field {
    std::string key;
    std::string value;
};

struct Record {
    Level level;
    std::string message;
    std::vector<Field> fields;
};

using Sink = std::function<void(const Record&)>;

// Lines below this level are dropped (default: info; --log-level LEVEL; HASPOOL_DEBUG=1 or
// --verbose: debug; a daemon's SIGUSR1 switches debug on and off). Safe from any thread.
void set_min_level(Level level);
Level min_level();

// Replaces the output (journald/stderr) with `sink`; an empty function restores it.
// Tests use this to assert on decisions.
void set_sink(Sink sink);

// True when stderr is the journal stream systemd set up for this process.
bool stderr_is_journal();

void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
void write(Level level, std::string_view message, std::vector<Field> fields);

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::info, m, f); }
inline void notice(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::notice, m, f); }
inline void warning(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::warning, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::error, m, f); }
inline void critical(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::critical, m, f); }

}  // namespace haspool::log
