#pragma once
// The control socket (cluster.control_socket): a unix stream socket for root, and for the
// members of cluster.control_group when one is set (control_access.hpp: the socket's mode and
// group, then each caller's kernel credentials). Each connection is one exchange: read one line
// within the read deadline, hand it to the handler, write its answer within the write deadline,
// close. A client that sends no newline in time, or stops reading, loses its connection and the
// daemon goes on; a line longer than the cap gets an error answer. A caller who is not admitted
// is read the same way (so its client sees the answer rather than a reset), answered
// "refused: WHY" and never reaches the handler. Handlers never throw.
//
// A line the stream opener claims (`events`) turns its connection into a stream instead: it
// stays open, and every line publish() hands out is written to it in order, each within the
// write deadline. A stream whose reader falls more than max_queued lines behind, or stops
// reading for a write deadline, is closed and said once: the daemon never waits for a reader.
#include <utility>  // before Asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon/control_access.hpp"

namespace haspool::agent {

class ControlSocket {
public:
    // The line without its "\n" in, the whole answer out (run on the io_context's thread).
    using Handler = std::function<std::string(const std::string& line)>;

    struct Limits {
        std::chrono::milliseconds read_deadline{2000};
        std::chrono::milliseconds write_deadline{2000};
        size_t max_line = 4096;  // bytes, with the newline
        size_t max_queued = 1024;  // lines waiting for a stream's reader
    };

    // nullopt: `line` is not a stream request. Otherwise the text the stream starts with ("" for
    // none), and the connection stays open for publish() (run on the io_context's thread).
    using StreamOpener = std::function<std::optional<std::string>(const std::string& line)>;

    // A line the deferrer claims (returns true for) is answered later, through `answer`, called
    // once on the io_context's thread: `status` waits for the peer's daemon. The connection
    // waits without a deadline meanwhile, so the deferrer must bound the wait itself.
    using Answer = std::function<void(std::string)>;
    using Deferrer = std::function<bool(const std::string& line, Answer answer)>;

    // A sentence for the log, with its journal EVENT: "control-refused" once per refused
    // connection, "control-directory" when an existing directory keeps the group out.
    using Notice = std::function<void(const std::string& sentence, const char* event)>;

    // `group`: cluster.control_group, "" for root only.
    ControlSocket(boost::asio::io_context& io, std::string path, Handler handler, Limits limits, std::string group,
                  Notice notice);
    ControlSocket(boost::asio::io_context& io, std::string path, Handler handler, Limits limits)
        : ControlSocket(io, std::move(path), std::move(handler), limits, {}, {}) {}
    ControlSocket(boost::asio::io_context& io, std::string path, Handler handler)
        : ControlSocket(io, std::move(path), std::move(handler), Limits{}) {}

    // Resolves the group, creates the socket (replacing a stale one): mode 0600, or 0660 with the
    // group; a directory it makes is 0700, or 0750 with the group, and an existing one keeps its
    // mode. Then starts accepting. "" or the problem sentence.
    std::string open();
    // Stops accepting, closes every stream and removes the socket file; exchanges under way end
    // on their deadlines.
    void close();
    void set_stream_opener(StreamOpener opener) { opener_ = std::move(opener); }
    void set_deferrer(Deferrer deferrer) { deferrer_ = std::move(deferrer); }
    // Queues `line` (whole lines, "\n"-terminated) on every open stream. On the io_context's thread.
    void publish(const std::string& line);
    // Streams open now.
    size_t streams();
    const std::string& path() const { return path_; }

private:
    class Exchange;
    void do_accept();

    boost::asio::io_context& io_;
    std::string path_;
    Handler handler_;
    Limits limits_;
    std::string group_;
    Notice notice_;
    StreamOpener opener_;
    Deferrer deferrer_;
    std::vector<std::weak_ptr<Exchange>> streams_;
    ControlAccess access_;  // resolved by open()
    boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace haspool::agent
