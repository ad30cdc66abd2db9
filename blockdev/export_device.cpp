#include "blockdev/export_device.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace haspool::nbd {

ExportDevice::OpenResult ExportDevice::open(const std::string& path, bool read_only) {
    int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) return {nullptr, "cannot open export '" + path + "': " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return {nullptr, "cannot stat export '" + path + "': " + std::strerror(e)};
    }
    std::unique_ptr<ExportDevice> d(new ExportDevice());
    d->fd_ = fd;
    d->path_ = path;
    d->read_only_ = read_only;
    if (S_ISBLK(st.st_mode)) {
        d->block_device_ = true;
        uint64_t bytes = 0;
        if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0)
            return {nullptr, "cannot read the size of block device '" + path + "' (BLKGETSIZE64): " + std::strerror(errno)};
        d->size_ = bytes;
    } else if (S_ISREG(st.st_mode)) {
        d->size_ = uint64_t(st.st_size);
    } else {
        return {nullptr, "export '" + path + "' is neither a regular file nor a block device"};
    }
    if (d->size_ == 0) return {nullptr, "export '" + path + "' has size 0"};
    return {std::move(d), {}};
}

ExportDevice::~ExportDevice() {
    if (fd_ >= 0) ::close(fd_);
}

int ExportDevice::read(void* buf, uint32_t length, uint64_t offset) {
    auto* p = static_cast<char*>(buf);
    while (length > 0) {
        ssize_t r = ::pread(fd_, p, length, off_t(offset));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) {  // the file shrank under us: never hand out stale buffer bytes
            std::memset(p, 0, length);
            return EIO;
        }
        p += r;
        length -= uint32_t(r);
        offset += uint64_t(r);
    }
    return 0;
}

int ExportDevice::write(const void* buf, uint32_t length, uint64_t offset, bool fua) {
    const auto* p = static_cast<const char*>(buf);
    while (length > 0) {
        iovec iov{const_cast<char*>(p), length};
        ssize_t r = ::pwritev2(fd_, &iov, 1, off_t(offset), fua ? RWF_DSYNC : 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (fua && (errno == EOPNOTSUPP || errno == EINVAL)) {  // kernel without RWF_DSYNC here
                if (int e = write(p, length, offset, false)) return e;
                return flush();
            }
            return errno;
        }
        if (r == 0) return EIO;
        p += r;
        length -= uint32_t(r);
        offset += uint64_t(r);
    }
    return 0;
}

int ExportDevice::flush() {
    while (::fdatasync(fd_) != 0) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

int ExportDevice::trim(uint64_t offset, uint32_t length, bool fua) {
    int rc = 0;
    if (block_device_) {
        uint64_t range[2] = {offset, length};
        if (::ioctl(fd_, BLKDISCARD, &range) != 0) rc = errno;
    } else if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(length)) != 0) {
        rc = errno;
    }
    if (rc == EOPNOTSUPP || rc == ENOTTY || rc == EINVAL) rc = 0;  // advisory: nothing discarded
    if (rc == 0 && fua) rc = flush();
    return rc;
}

int ExportDevice::write_zero_buffer(uint64_t offset, uint32_t length) {
    static const std::vector<char> zeros(1 << 20, 0);
    while (length > 0) {
        uint32_t n = std::min<uint32_t>(length, uint32_t(zeros.size()));
        if (int e = write(zeros.data(), n, offset, false)) return e;
        offset += n;
        length -= n;
    }
    return 0;
}

int ExportDevice::write_zeroes(uint64_t offset, uint32_t length, bool may_punch, bool fast_only, bool fua) {
    int rc = 0;
    if (block_device_) {
        // BLKZEROOUT may write zeros by hand (it falls back inside the kernel), so it is not "fast".
        if (fast_only) return ENOTSUP;
        uint64_t range[2] = {offset, length};
        rc = ::ioctl(fd_, BLKZEROOUT, &range) == 0 ? 0 : errno;
    } else {
        int mode = may_punch ? (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) : FALLOC_FL_ZERO_RANGE;
        rc = ::fallocate(fd_, mode, off_t(offset), off_t(length)) == 0 ? 0 : errno;
        if (rc && may_punch && (rc == EOPNOTSUPP || rc == EINVAL))
            rc = ::fallocate(fd_, FALLOC_FL_ZERO_RANGE, off_t(offset), off_t(length)) == 0 ? 0 : errno;
    }
    if (rc == EOPNOTSUPP || rc == ENOTTY || rc == EINVAL) {
        if (fast_only) return ENOTSUP;
        rc = write_zero_buffer(offset, length);
    }
    if (rc == 0 && fua) rc = flush();
    return rc;
}

int64_t ExportDevice::next_change(uint64_t offset, bool* is_hole) const {
    *is_hole = false;
    if (block_device_) return int64_t(size_);
    off_t data = ::lseek(fd_, off_t(offset), SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) {  // only a hole from here to the end
            *is_hole = true;
            return int64_t(size_);
        }
        if (errno == EINVAL || errno == EOPNOTSUPP) return int64_t(size_);  // no SEEK_DATA: all data
        return -1;
    }
    if (uint64_t(data) > offset) {
        *is_hole = true;
        return data;
    }
    off_t hole = ::lseek(fd_, off_t(offset), SEEK_HOLE);
    if (hole < 0) return errno == ENXIO ? int64_t(size_) : -1;
    return hole;
}

int ExportDevice::cache(uint64_t offset, uint32_t length) {
    int rc = ::posix_fadvise(fd_, off_t(offset), off_t(length), POSIX_FADV_WILLNEED);
    return rc == 0 || rc == ESPIPE ? 0 : rc;
}

}  // namespace haspool::nbd
