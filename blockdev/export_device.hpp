#pragma once
// The storage behind an NBD export: a regular file or a block device, opened once and shared by
// every session (so a flush on any connection covers writes completed on all of them, which is
// what NBD_FLAG_CAN_MULTI_CONN promises). Every method returns 0 or an errno value; nothing here
// logs or maps errors (nbd_codec's errno_to_nbd_error does that, once).
#include <cstdint>
#include <memory>
#include <string>

namespace haspool::nbd {

class ExportDevice {
public:
    struct OpenResult {
        std::unique_ptr<ExportDevice> device;
        std::string error;  // a sentence naming the path when device is null
    };
    static OpenResult open(const std::string& path, bool read_only);
    ~ExportDevice();
    ExportDevice(const ExportDevice&) = delete;
    ExportDevice& operator=(const ExportDevice&) = delete;

    uint64_t size() const { return size_; }
    bool read_only() const { return read_only_; }
    bool is_block_device() const { return block_device_; }
    const std::string& path() const { return path_; }

    int read(void* buf, uint32_t length, uint64_t offset);
    // fua: the data is on stable storage before this returns (RWF_DSYNC).
    int write(const void* buf, uint32_t length, uint64_t offset, bool fua);
    int flush();  // fdatasync
    // Discard is advisory: where the storage cannot discard, it succeeds without doing anything.
    int trim(uint64_t offset, uint32_t length, bool fua);
    // may_punch: the range may become a hole (no NO_HOLE flag); fast_only: fail with ENOTSUP
    // rather than write zeros by hand (NBD_CMD_FLAG_FAST_ZERO).
    int write_zeroes(uint64_t offset, uint32_t length, bool may_punch, bool fast_only, bool fua);
    int cache(uint64_t offset, uint32_t length);

private:
    ExportDevice() = default;
    int write_zero_buffer(uint64_t offset, uint32_t length);
    int fd_ = -1;
    uint64_t size_ = 0;
    bool read_only_ = false;
    bool block_device_ = false;
    std::string path_;
};

}  // namespace haspool::nbd
