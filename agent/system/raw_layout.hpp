#pragma once
// Where the spool filesystem lies on Y when it is served outside md (the raw takeover, docs/agent.md
// "Raw takeover"), from two sources that are parsed here without touching any device:
// - md's superblock, as `mdadm --examine` prints it: the data area [Data Offset, + Used Dev Size);
// - the filesystem's own superblock: its size (ext2/3/4: block count x block size; xfs: dblocks x
//   block size).
// The loop device maps [offset, offset + filesystem size): the filesystem was made on the array,
// so it ends inside md's data area and the mapping never covers md's superblock or bitmap.
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace haspool::agent {

struct MdDataArea {
    uint64_t offset_bytes = 0;
    uint64_t size_bytes = 0;
    std::string version;  // "1.0"
};

// Parses `mdadm --examine DEV` output of a metadata-1.x member. "Data Offset" is printed only
// when it is not 0 (metadata 1.0 puts the data at sector 0); the data area's size is "Used Dev
// Size", or "Avail Dev Size" when md uses all of it. An error sentence when it is not that.
std::optional<MdDataArea> parse_md_examine(const std::string& text, std::string* error);

// The size in bytes of the filesystem whose first bytes are `p[0..n)` (at least 2048 bytes),
// checked against its magic number. An error sentence when there is no such filesystem.
std::optional<uint64_t> filesystem_bytes(const uint8_t* p, size_t n, config::Filesystem fs, std::string* error);

// The loop device's geometry over a device of `device_bytes`: the filesystem size `fs_bytes`
// found at `area.offset_bytes`, checked to lie inside md's data area and the device. When md's
// superblock is unreadable (the reason for a raw takeover) `area` is nullopt, and the data
// offset is 0: haspool creates every array with metadata 1.0 (raid/md_control.cpp), whose data
// starts at sector 0 and whose superblock and bitmap lie after the array's end.
struct RawGeometry {
    uint64_t offset = 0;
    uint64_t size = 0;
};
std::optional<RawGeometry> raw_geometry(const std::optional<MdDataArea>& area, uint64_t fs_bytes, uint64_t device_bytes,
                                        std::string* error);

}  // namespace haspool::agent
