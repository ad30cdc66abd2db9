#pragma once
// md's write-intent bitmap: what `mdadm --examine-bitmap` (-X) says about a member, which chunks
// a stopped member's own on-disk bitmap marks dirty, and the text md/bitmap_set_bits takes.
// The bitmap union of docs/design.md §7 is: ranges = read_member_bitmap(X).dirty; write
// format_set_bits(ranges) to the running array (md_control.hpp: MdControl::merge_bitmap_from).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace haspool::raid {

// mdadm -X output.
struct BitmapSummary {
    std::string uuid;
    uint64_t events = 0;
    uint64_t events_cleared = 0;
    std::string state;         // "OK", "Out of date"...
    uint64_t chunk_bytes = 0;
    uint64_t sync_size_kib = 0;
    uint64_t bits = 0;         // chunks
    uint64_t dirty = 0;        // chunks marked dirty
};
struct BitmapSummaryResult {
    std::optional<BitmapSummary> summary;
    std::string error;
};
BitmapSummaryResult parse_examine_bitmap(const std::string& mdadm_output);

// "Events : 38" of `mdadm --detail` or `--examine`.
std::optional<uint64_t> parse_events(const std::string& mdadm_output);

// An inclusive range of bitmap chunks.
struct ChunkRange {
    uint64_t first = 0;
    uint64_t last = 0;
    bool operator==(const ChunkRange&) const = default;
};

// The set bits of md's on-disk bitmap (little-endian bit order: bit i is byte i/8, bit i%8),
// merged into ranges.
std::vector<ChunkRange> dirty_ranges(const uint8_t* bits, size_t bytes, uint64_t nbits);
// "3 7-9" for md/bitmap_set_bits.
std::string format_set_bits(const std::vector<ChunkRange>& ranges);

// A member's metadata-1.0 superblock + internal bitmap, decoded.
struct OnDiskBitmap {
    uint64_t events = 0;
    uint64_t chunk_bytes = 0;
    uint64_t sync_sectors = 0;
    uint64_t nbits = 0;
    std::vector<ChunkRange> dirty;
    uint64_t dirty_chunks() const;
};
struct OnDiskBitmapResult {
    std::optional<OnDiskBitmap> bitmap;
    std::string error;
};
// Decodes from the last bytes of a member: `tail` holds the device's bytes from
// tail_offset_bytes to the end of a device of device_bytes.
OnDiskBitmapResult decode_member_bitmap(const std::vector<uint8_t>& tail, uint64_t tail_offset_bytes,
                                        uint64_t device_bytes);
// Reads a (stopped, or at least quiet) member device with O_DIRECT and decodes it.
OnDiskBitmapResult read_member_bitmap(const std::string& device);

}  // namespace haspool::raid
