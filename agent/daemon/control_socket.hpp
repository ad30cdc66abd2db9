#pragma once
// The control socket (cluster.control_socket): a unix stream socket, mode 0600 in a 0700
// directory when it creates that directory. Each connection is one exchange: read one line
// within the read deadline, hand it to the handler, write its answer within the write deadline,
// close. A client that sends no newline in time, or stops reading, loses its connection and the
// daemon goes on; a line longer than the cap gets an error answer. Handlers never throw.
#include <utility>  // before Asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace haspool::agent {

class ControlSocket {
public:
    // The line without its "\n" in, the whole answer out (run on the io_context's thread).
    using Handler = std::function<std::string(const std::string& line)>;

    struct Limits {
        std::chrono::milliseconds read_deadline{2000};
        std::chrono::milliseconds write_deadline{2000};
        size_t max_line = 4096;  // bytes, with the newline
    };

    ControlSocket(boost::asio::io_context& io, std::string path, Handler handler, Limits limits);
    ControlSocket(boost::asio::io_context& io, std::string path, Handler handler)
        : ControlSocket(io, std::move(path), std::move(handler), Limits{}) {}

    // Creates the socket (replacing a stale one) and starts accepting. "" or the problem sentence.
    std::string open();
    // Stops accepting and removes the socket file; exchanges under way end on their deadlines.
    void close();
    const std::string& path() const { return path_; }

private:
    class Exchange;
    void do_accept();

    boost::asio::io_context& io_;
    std::string path_;
    Handler handler_;
    Limits limits_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace haspool::agent
