#include "raid/md_bitmap.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "raid/md_status.hpp"

namespace haspool::raid {

namespace {

// "Key : value" lines of mdadm's reports.
std::optional<std::string> field(const std::string& out, const std::string& key) {
    std::stringstream ss(out);
    std::string line;
    while (std::getline(ss, line)) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
    }
    return std::nullopt;
}

std::optional<uint64_t> leading_number(const std::string& s) {
    if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
    return std::strtoull(s.c_str(), nullptr, 10);
}

uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

constexpr uint32_t kMdSbMagic = 0xa92b4efc;      // mdp_superblock_1.magic
constexpr uint32_t kBitmapMagic = 0x6d746962;    // bitmap_super_t.magic ("bitm")
constexpr uint32_t kFeatureBitmapOffset = 1;     // MD_FEATURE_BITMAP_OFFSET
constexpr size_t kBitmapSuperBytes = 256;        // sizeof(bitmap_super_t); the bits follow

}  // namespace

BitmapSummaryResult parse_examine_bitmap(const std::string& out) {
    BitmapSummaryResult r;
    BitmapSummary s;
    auto magic = field(out, "Magic");
    if (!magic || *magic != "6d746962") {
        r.error = "no md bitmap in this output (Magic is " + (magic ? *magic : std::string("missing")) + ")";
        return r;
    }
    s.uuid = field(out, "UUID").value_or("");
    s.state = field(out, "State").value_or("");
    auto events = field(out, "Events");
    auto cleared = field(out, "Events Cleared");
    auto chunk = field(out, "Chunksize");
    auto sync = field(out, "Sync Size");
    auto bitmap = field(out, "Bitmap");
    if (!events || !chunk || !sync || !bitmap) {
        r.error = "mdadm -X output lacks Events, Chunksize, Sync Size or Bitmap";
        return r;
    }
    s.events = leading_number(*events).value_or(0);
    s.events_cleared = cleared ? leading_number(*cleared).value_or(0) : 0;
    // "64 MB", "1 MB", "512 KB", "4096 B"
    auto n = leading_number(*chunk);
    std::string unit = chunk->substr(chunk->find(' ') == std::string::npos ? chunk->size() : chunk->find(' ') + 1);
    uint64_t mult = unit == "B" ? 1 : unit == "KB" ? 1024 : unit == "MB" ? 1024 * 1024 : unit == "GB" ? 1024ull * 1024 * 1024 : 0;
    if (!n || mult == 0) {
        r.error = "cannot read the chunk size '" + *chunk + "'";
        return r;
    }
    s.chunk_bytes = *n * mult;
    s.sync_size_kib = leading_number(*sync).value_or(0);
    // "128 bits (chunks), 3 dirty (2.3%)"
    auto bits = leading_number(*bitmap);
    size_t comma = bitmap->find(", ");
    auto dirty = comma == std::string::npos ? std::nullopt : leading_number(bitmap->substr(comma + 2));
    if (!bits || !dirty) {
        r.error = "cannot read the bitmap line '" + *bitmap + "'";
        return r;
    }
    s.bits = *bits;
    s.dirty = *dirty;
    r.summary = s;
    return r;
}

std::optional<uint64_t> parse_events(const std::string& out) {
    auto v = field(out, "Events");
    if (!v) return std::nullopt;
    return leading_number(*v);
}

std::vector<ChunkRange> dirty_ranges(const uint8_t* bits, size_t bytes, uint64_t nbits) {
    std::vector<ChunkRange> ranges;
    for (uint64_t i = 0; i < nbits && i / 8 < bytes; ++i) {
        if (!(bits[i / 8] & (1u << (i % 8)))) continue;
        if (!ranges.empty() && ranges.back().last + 1 == i)
            ranges.back().last = i;
        else
            ranges.push_back({i, i});
    }
    return ranges;
}

std::string format_set_bits(const std::vector<ChunkRange>& ranges) {
    std::string s;
    for (const auto& r : ranges) {
        if (!s.empty()) s += ' ';
        s += std::to_string(r.first);
        if (r.last != r.first) s += "-" + std::to_string(r.last);
    }
    return s;
}

uint64_t OnDiskBitmap::dirty_chunks() const {
    uint64_t n = 0;
    for (const auto& r : dirty) n += r.last - r.first + 1;
    return n;
}

OnDiskBitmapResult decode_member_bitmap(const std::vector<uint8_t>& tail, uint64_t tail_offset, uint64_t device_bytes) {
    OnDiskBitmapResult r;
    // Metadata 1.0 keeps its superblock 8-12 KiB before the end, 4 KiB aligned (md's calc_dev_sboffset).
    uint64_t sb_sector = ((device_bytes >> 9) - 8 * 2) & ~static_cast<uint64_t>(4 * 2 - 1);
    uint64_t sb = sb_sector << 9;
    if (sb < tail_offset || sb + 256 > tail_offset + tail.size()) {
        r.error = "the metadata-1.0 superblock lies outside the bytes read";
        return r;
    }
    const uint8_t* p = tail.data() + (sb - tail_offset);
    if (le32(p) != kMdSbMagic) {
        r.error = "no md metadata-1.0 superblock at the end of the device";
        return r;
    }
    if (le32(p + 4) != 1) {
        r.error = "md superblock major version is not 1";
        return r;
    }
    if (!(le32(p + 8) & kFeatureBitmapOffset)) {
        r.error = "the array has no internal bitmap";
        return r;
    }
    int32_t bitmap_offset = static_cast<int32_t>(le32(p + 96));  // sectors from the superblock, signed
    int64_t bm = static_cast<int64_t>(sb) + static_cast<int64_t>(bitmap_offset) * 512;
    if (bm < static_cast<int64_t>(tail_offset) ||
        static_cast<uint64_t>(bm) + kBitmapSuperBytes > tail_offset + tail.size()) {
        r.error = "the bitmap lies outside the bytes read";
        return r;
    }
    const uint8_t* b = tail.data() + (bm - static_cast<int64_t>(tail_offset));
    if (le32(b) != kBitmapMagic) {
        r.error = "no bitmap superblock where the md superblock points";
        return r;
    }
    OnDiskBitmap d;
    d.events = le64(b + 24);
    d.sync_sectors = le64(b + 40);
    d.chunk_bytes = le32(b + 52);
    if (d.chunk_bytes < 512 || (d.chunk_bytes & (d.chunk_bytes - 1))) {
        r.error = "bitmap chunk size " + std::to_string(d.chunk_bytes) + " is invalid";
        return r;
    }
    // Rounded up without adding first: the sizes come from the disk, and a sum that wraps would
    // let the check below pass for bits that were never read.
    const uint64_t chunk_sectors = d.chunk_bytes >> 9;
    d.nbits = d.sync_sectors / chunk_sectors + (d.sync_sectors % chunk_sectors != 0);
    const size_t bits_at = static_cast<size_t>(bm - static_cast<int64_t>(tail_offset)) + kBitmapSuperBytes;
    if (bits_at > tail.size() || d.nbits / 8 + (d.nbits % 8 != 0) > tail.size() - bits_at) {
        r.error = "the bitmap's bits lie outside the bytes read";
        return r;
    }
    d.dirty = dirty_ranges(tail.data() + bits_at, tail.size() - bits_at, d.nbits);
    r.bitmap = d;
    return r;
}

OnDiskBitmapResult read_member_bitmap(const std::string& device) {
    OnDiskBitmapResult r;
    int fd = ::open(device.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) {
        r.error = "cannot open " + device + ": " + std::strerror(errno);
        return r;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
        r.error = "cannot get the size of " + device + ": " + std::strerror(errno);
        ::close(fd);
        return r;
    }
    // The superblock is within 12 KiB of the end and mdadm puts a 1.0 bitmap just before it,
    // at most a few MiB: read the last 8 MiB (or the whole device if smaller).
    const uint64_t want = 8ull << 20;
    uint64_t off = size > want ? ((size - want) & ~uint64_t{4095}) : 0;
    size_t len = static_cast<size_t>(size - off) & ~size_t{511};
    void* buf = nullptr;
    if (posix_memalign(&buf, 4096, len) != 0) {
        ::close(fd);
        r.error = "out of memory reading " + device;
        return r;
    }
    ssize_t n = pread(fd, buf, len, static_cast<off_t>(off));
    int err = errno;
    ::close(fd);
    if (n < 0) {
        std::free(buf);
        r.error = "reading the end of " + device + " failed: " + std::strerror(err);
        return r;
    }
    std::vector<uint8_t> tail(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + n);
    std::free(buf);
    r = decode_member_bitmap(tail, off, size);
    if (!r.error.empty()) r.error = device + ": " + r.error;
    return r;
}

}  // namespace haspool::raid
