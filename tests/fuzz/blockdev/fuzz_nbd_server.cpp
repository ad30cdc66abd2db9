// libFuzzer target for the whole server side of a connection: the input is everything a client
// sends (client flags, options, requests, payloads), fed through a socketpair into
// server_handshake and, if it admits the client, a Session over a 1 MiB file. The server must
// neither crash nor hang nor change the export's size (it never writes outside the export).
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <thread>

#include "blockdev/export_device.hpp"
#include "blockdev/nbd_server_handshake.hpp"
#include "blockdev/nbd_session.hpp"
#include "blockdev/socket_io.hpp"

using namespace haspool::nbd;

namespace {

constexpr uint64_t kSize = 1 << 20;

ExportDevice& device() {
    static std::unique_ptr<ExportDevice> dev = [] {
        char tmpl[] = "/tmp/haspool-fuzz-export-XXXXXX";
        int fd = ::mkstemp(tmpl);
        if (fd < 0 || ::ftruncate(fd, kSize) != 0) std::abort();
        ::close(fd);
        auto o = ExportDevice::open(tmpl, false);
        ::unlink(tmpl);  // the open fd keeps it alive
        if (!o.device) std::abort();
        return std::move(o.device);
    }();
    return *dev;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ExportDevice& dev = device();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::abort();
    // The client: send the input, then EOF; drain whatever the server answers.
    std::thread client([&] {
        write_all(sv[0], data, size, std::nullopt);
        ::shutdown(sv[0], SHUT_WR);
        char sink[65536];
        while (::recv(sv[0], sink, sizeof sink, 0) > 0) {
        }
    });
    const uint16_t tf = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
                        NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO |
                        NBD_FLAG_CAN_MULTI_CONN;
    ExportInfo info{"fuzz", "fuzz export", kSize, tf, 1, 4096, 1 << 20};
    std::function<std::string()> admit = [] { return std::string(); };
    auto hs = server_handshake(sv[1], info, admit, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (hs.session) {
        ServerCounters counters;
        ExportLimits l{kSize, false, 1 << 20, tf};
        Session s(sv[1], dev, l, *hs.session, counters, Session::Params{2, std::chrono::milliseconds(2000)});
        s.run();
    }
    ::shutdown(sv[1], SHUT_RDWR);
    client.join();
    ::close(sv[0]);
    ::close(sv[1]);
    if (dev.size() != kSize) std::abort();
    return 0;
}
