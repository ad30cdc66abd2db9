// Test helper: connects to HOST PORT, runs haspool's client handshake for EXPORT and prints what
// was negotiated (exit 0) or the error (exit 1). `--no-require-flush` skips the flush/FUA check;
// `--timeout-ms N` bounds the handshake (default 10 s), as the primary's handshake_timeout does.
// `--tls-psk FILE [--tls-identity ID]` negotiates STARTTLS with that key and finishes the
// handshake over userspace TLS (the kernel's kTLS handoff is the VM lab's to prove).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "blockdev/nbd_client_handshake.hpp"
#include "blockdev/tls_channel.hpp"
#include "blockdev/tls_psk.hpp"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: nbd_handshake_probe HOST PORT EXPORT [--no-require-flush] [--timeout-ms N] [--tls-psk FILE [--tls-identity ID]]\n");
        return 2;
    }
    bool require = true;
    std::chrono::milliseconds timeout(10000);
    std::string psk_file, identity;
    for (int i = 4; i < argc; ++i) {
        if (std::string(argv[i]) == "--no-require-flush") require = false;
        else if (std::string(argv[i]) == "--timeout-ms" && i + 1 < argc) timeout = std::chrono::milliseconds(std::stol(argv[++i]));
        else if (std::string(argv[i]) == "--tls-psk" && i + 1 < argc) psk_file = argv[++i];
        else if (std::string(argv[i]) == "--tls-identity" && i + 1 < argc) identity = argv[++i];
        else {
            std::fprintf(stderr, "nbd_handshake_probe: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(std::stoi(argv[2])));
    if (::inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::fprintf(stderr, "connect %s:%s: %s\n", argv[1], argv[2], std::strerror(errno));
        return 1;
    }
    std::unique_ptr<haspool::nbd::TlsContext> tls;
    if (!psk_file.empty()) {
        std::ifstream in(psk_file);
        std::stringstream content;
        content << in.rdbuf();
        std::string why;
        auto psk = haspool::nbd::parse_psk_file(content.str(), identity, why);
        if (psk) tls = haspool::nbd::TlsContext::make(haspool::nbd::TlsContext::Side::client, *psk, why);
        if (!tls) {
            std::fprintf(stderr, "%s: %s\n", psk_file.c_str(), why.c_str());
            return 2;
        }
    }
    auto r = haspool::nbd::client_handshake(fd, argv[3], timeout, require, {tls.get(), false});
    if (!r.export_info) {
        std::fprintf(stderr, "%s\n", r.error.c_str());
        return 1;
    }
    std::printf("%ssize=%llu flags=0x%x min_block=%u preferred_block=%u max_block=%u\n",
                r.encrypted ? "tls " : "", (unsigned long long)r.export_info->size, r.export_info->transmission_flags, r.export_info->min_block,
                r.export_info->preferred_block, r.export_info->max_block);
    ::close(fd);
    return 0;
}
