#include "agent/system/raw_layout.hpp"

#include <sstream>

namespace haspool::agent {

namespace {

uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }
uint32_t be32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint64_t be64(const uint8_t* p) { return static_cast<uint64_t>(be32(p)) << 32 | be32(p + 4); }

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t");
    auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The leading decimal number of "2096880 sectors (1023.87 MiB ...)".
std::optional<uint64_t> leading_number(const std::string& v) {
    if (v.empty() || v[0] < '0' || v[0] > '9') return std::nullopt;
    uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') break;
        if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

}  // namespace

std::optional<MdDataArea> parse_md_examine(const std::string& text, std::string* error) {
    std::istringstream in(text);
    std::string line;
    MdDataArea a;
    std::optional<uint64_t> offset, used, avail;
    auto fail = [&](std::string why) -> std::optional<MdDataArea> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    while (std::getline(in, line)) {
        auto colon = line.find(" : ");
        if (colon == std::string::npos) continue;
        std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 3));
        if (key == "Version") a.version = value;
        else if (key == "Data Offset") {
            if (!(offset = leading_number(value))) return fail("unreadable Data Offset '" + value + "'");
        } else if (key == "Used Dev Size") {
            if (!(used = leading_number(value))) return fail("unreadable Used Dev Size '" + value + "'");
        } else if (key == "Avail Dev Size") {
            if (!(avail = leading_number(value))) return fail("unreadable Avail Dev Size '" + value + "'");
        }
    }
    if (a.version.rfind("1.", 0) != 0)
        return fail(a.version.empty() ? "no md superblock version in mdadm --examine's output"
                                      : "md metadata " + a.version + ", not 1.x: its data area is not known here");
    if (!used && !avail) return fail("mdadm --examine shows no device size (Used/Avail Dev Size)");
    a.offset_bytes = offset.value_or(0) * 512;
    a.size_bytes = (used ? *used : *avail) * 512;
    if (a.size_bytes == 0) return fail("md's data area is empty");
    return a;
}

std::optional<uint64_t> filesystem_bytes(const uint8_t* p, size_t n, config::Filesystem fs, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<uint64_t> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (n < 2048) return fail("need 2048 bytes of the filesystem's start, got " + std::to_string(n));
    if (fs == config::Filesystem::xfs) {
        if (be32(p) != 0x58465342) return fail("no xfs superblock (magic XFSB) at the start");
        uint32_t bs = be32(p + 4);
        uint64_t blocks = be64(p + 8);
        if (bs < 512 || bs > 65536 || (bs & (bs - 1))) return fail("xfs block size " + std::to_string(bs) + " is not valid");
        if (blocks == 0 || blocks > UINT64_MAX / bs) return fail("xfs block count " + std::to_string(blocks) + " is not valid");
        return blocks * bs;
    }
    const uint8_t* sb = p + 1024;  // ext2/3/4: the superblock starts 1024 bytes in
    if ((sb[0x38] | sb[0x39] << 8) != 0xEF53) return fail("no ext2/3/4 superblock (magic 0xEF53) 1024 bytes in");
    uint32_t log = le32(sb + 0x18);
    if (log > 6) return fail("ext block size 2^(10+" + std::to_string(log) + ") is not valid");
    uint64_t bs = 1024ull << log;
    uint64_t blocks = le32(sb + 0x04);
    if (le32(sb + 0x60) & 0x80) blocks |= static_cast<uint64_t>(le32(sb + 0x150)) << 32;  // INCOMPAT_64BIT
    if (blocks == 0) return fail("ext block count is 0");
    return blocks * bs;
}

std::optional<RawGeometry> raw_geometry(const std::optional<MdDataArea>& area, uint64_t fs_bytes, uint64_t device_bytes,
                                        std::string* error) {
    auto fail = [&](std::string why) -> std::optional<RawGeometry> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    RawGeometry g{area ? area->offset_bytes : 0, fs_bytes};
    if (area && fs_bytes > area->size_bytes)
        return fail("the filesystem (" + std::to_string(fs_bytes) + " bytes) is larger than md's data area (" +
                    std::to_string(area->size_bytes) + " bytes): not a filesystem made on this array");
    // Without md's word, at least md 1.0's superblock (the last 8-12 KiB) must stay outside.
    const uint64_t reserved = area ? 0 : 8192;
    if (g.offset > device_bytes || fs_bytes + reserved > device_bytes - g.offset)
        return fail("the filesystem (" + std::to_string(fs_bytes) + " bytes at offset " + std::to_string(g.offset) +
                    ") does not leave room for md's superblock on a device of " + std::to_string(device_bytes) + " bytes");
    return g;
}

}  // namespace haspool::agent
