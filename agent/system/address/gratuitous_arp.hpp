#pragma once
// Gratuitous ARP after taking the service address, as IPaddr2 and keepalived do (docs/design.md §7):
// a burst of service.garp.count announcements every service.garp.interval, a second burst of
// repeat_count after repeat_after, then (optionally) one every refresh.
//
// Three layers, so the daemon can use whichever fits: garp_schedule() is pure (when to send),
// GarpSender sends one announcement now, and GarpAnnouncer runs the schedule on an Asio
// io_context with steady_timers (no thread, no sleep), until stop() or its destruction.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/system/actions/action_result.hpp"
#include "config/config.hpp"
#include "agent/system/address/ipv4_address.hpp"
#include "agent/system/address/packet_socket.hpp"

namespace haspool::actions {

struct GarpSchedule {
    std::vector<std::chrono::milliseconds> offsets;  // from the moment the address was added
    std::chrono::milliseconds refresh{0};            // then every `refresh` after the last offset; 0: never
};

// Burst 1 at 0, interval, 2*interval ... (count); burst 2 at repeat_after + k*interval
// (repeat_count; none when repeat_count is 0).
GarpSchedule garp_schedule(const config::Garp& g);

class GarpSender {
public:
    // nullopt with `error` when the interface cannot send ARP (missing, down, no CAP_NET_RAW).
    static std::optional<GarpSender> open(const std::string& interface, const Ipv4Cidr& address, std::string* error);
    ActionResult send_one();
    const MacAddress& mac() const { return socket_.mac(); }

private:
    GarpSender(PacketSocket s, Ipv4Cidr a) : socket_(std::move(s)), address_(a) {}
    PacketSocket socket_;
    Ipv4Cidr address_;
};

class GarpAnnouncer {
public:
    // `on_result` is called after every send (done or failed); it may be empty.
    GarpAnnouncer(boost::asio::io_context& io, GarpSender sender, GarpSchedule schedule,
                  std::function<void(const ActionResult&)> on_result = {});
    ~GarpAnnouncer();
    GarpAnnouncer(const GarpAnnouncer&) = delete;
    GarpAnnouncer& operator=(const GarpAnnouncer&) = delete;

    void start();  // the first announcement goes out from the io_context at once
    void stop();   // cancels what is still scheduled (e.g. when the address is dropped)
    unsigned sent() const { return sent_; }
    bool finished() const;  // every scheduled offset sent and no refresh configured

private:
    void arm();
    boost::asio::steady_timer timer_;
    GarpSender sender_;
    GarpSchedule schedule_;
    std::function<void(const ActionResult&)> on_result_;
    std::chrono::steady_clock::time_point start_;
    std::size_t next_ = 0;
    unsigned sent_ = 0;
    bool stopped_ = false;
};

}  // namespace haspool::actions
