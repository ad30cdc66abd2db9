#include "agent/daemon/control_socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <istream>
#include <memory>

namespace haspool::agent {

namespace asio = boost::asio;
using local_stream = asio::local::stream_protocol;
using boost::system::error_code;

// One connection: do_read() with a deadline, on_read() hands the line over, do_write() with a
// deadline, then close. The deadline timer closes the socket, which ends the pending operation.
class ControlSocket::Exchange : public std::enable_shared_from_this<Exchange> {
public:
    Exchange(local_stream::socket s, const Handler& handler, const Limits& limits)
        : socket_(std::move(s)), deadline_(socket_.get_executor()), buf_(limits.max_line), handler_(handler),
          limits_(limits) {}

    void do_read() {
        arm(limits_.read_deadline);
        asio::async_read_until(socket_, buf_, '\n',
                               [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
    }

private:
    void arm(std::chrono::milliseconds d) {
        deadline_.expires_after(d);
        deadline_.async_wait([self = shared_from_this()](error_code ec) {
            // Cancelled, or re-armed for the next operation after this expiry was queued.
            if (ec || self->deadline_.expiry() > asio::steady_timer::clock_type::now()) return;
            error_code ignored;
            self->socket_.close(ignored);
        });
    }

    void on_read(error_code ec) {
        deadline_.cancel();
        if (ec == asio::error::operation_aborted || !socket_.is_open()) return;  // the deadline passed
        if (ec == asio::error::not_found) {  // the buffer is full and holds no newline
            do_write("error: control command longer than " + std::to_string(limits_.max_line) + " bytes\n");
            return;
        }
        // As before the deadline existed: a connection closed before its newline is answered as
        // the empty command.
        std::string line;
        if (!ec) {
            std::istream in(&buf_);
            std::getline(in, line);
        }
        do_write(handler_(line));
    }

    void do_write(std::string reply) {
        reply_ = std::move(reply);
        arm(limits_.write_deadline);
        asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this()](error_code, size_t) {
            self->deadline_.cancel();
            error_code ignored;
            self->socket_.shutdown(local_stream::socket::shutdown_both, ignored);
            self->socket_.close(ignored);
        });
    }

    local_stream::socket socket_;
    asio::steady_timer deadline_;
    asio::streambuf buf_;
    Handler handler_;
    Limits limits_;
    std::string reply_;
};

ControlSocket::ControlSocket(asio::io_context& io, std::string path, Handler handler, Limits limits)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), limits_(limits), acceptor_(io) {}

std::string ControlSocket::open() {
    std::string dir = path_.substr(0, path_.rfind('/'));
    if (!dir.empty()) ::mkdir(dir.c_str(), 0700);
    ::unlink(path_.c_str());
    error_code ec;
    acceptor_.open(local_stream(), ec);
    if (!ec) acceptor_.bind(local_stream::endpoint(path_), ec);
    if (!ec) ::chmod(path_.c_str(), 0600);
    if (!ec) acceptor_.listen(4, ec);
    if (ec) return "cannot listen on the control socket " + path_ + ": " + ec.message();
    do_accept();
    return {};
}

void ControlSocket::close() {
    error_code ignored;
    acceptor_.close(ignored);
    ::unlink(path_.c_str());
}

void ControlSocket::do_accept() {
    acceptor_.async_accept([this](error_code ec, local_stream::socket s) {
        if (ec) return;
        std::make_shared<Exchange>(std::move(s), handler_, limits_)->do_read();
        do_accept();
    });
}

}  // namespace haspool::agent
