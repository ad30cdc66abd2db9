#include "agent/system/address/gratuitous_arp.hpp"

namespace haspool::actions {

GarpSchedule garp_schedule(const config::Garp& g) {
    GarpSchedule s;
    for (unsigned i = 0; i < g.count; ++i) s.offsets.push_back(g.interval * i);
    for (unsigned i = 0; i < g.repeat_count; ++i) s.offsets.push_back(g.repeat_after + g.interval * i);
    s.refresh = g.refresh;
    return s;
}

std::optional<GarpSender> GarpSender::open(const std::string& interface, const Ipv4Cidr& address, std::string* error) {
    auto s = PacketSocket::open(interface, error);
    if (!s) return std::nullopt;
    return GarpSender(std::move(*s), address);
}

ActionResult GarpSender::send_one() {
    std::string error;
    if (!socket_.send(make_gratuitous_arp(socket_.mac(), address_.address), &error))
        return ActionResult::failed("gratuitous ARP for " + address_.address_text() + ": " + error);
    return ActionResult::done();
}

GarpAnnouncer::GarpAnnouncer(boost::asio::io_context& io, GarpSender sender, GarpSchedule schedule,
                             std::function<void(const ActionResult&)> on_result)
    : timer_(io), sender_(std::move(sender)), schedule_(std::move(schedule)), on_result_(std::move(on_result)) {}

GarpAnnouncer::~GarpAnnouncer() { stop(); }

void GarpAnnouncer::start() {
    stopped_ = false;
    start_ = std::chrono::steady_clock::now();
    next_ = 0;
    arm();
}

void GarpAnnouncer::stop() {
    stopped_ = true;
    timer_.cancel();
}

bool GarpAnnouncer::finished() const { return next_ >= schedule_.offsets.size() && schedule_.refresh.count() == 0; }

void GarpAnnouncer::arm() {
    std::chrono::steady_clock::time_point when;
    if (next_ < schedule_.offsets.size()) {
        when = start_ + schedule_.offsets[next_];
    } else if (schedule_.refresh.count() > 0) {
        auto last = schedule_.offsets.empty() ? std::chrono::milliseconds(0) : schedule_.offsets.back();
        auto k = next_ - schedule_.offsets.size() + 1;
        when = start_ + last + schedule_.refresh * static_cast<long>(k);
    } else {
        return;
    }
    timer_.expires_at(when);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        auto r = sender_.send_one();
        if (r) ++sent_;
        ++next_;
        if (on_result_) on_result_(r);
        if (!stopped_) arm();
    });
}

}  // namespace haspool::actions
