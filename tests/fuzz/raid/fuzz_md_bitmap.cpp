// libFuzzer target for the decoder of a member's own write-intent bitmap (decode_member_bitmap:
// the metadata-1.0 superblock at the end of the device, the bitmap superblock it points to and
// the bits), which the failback's bitmap union trusts (docs/design.md §7).
//
// Input: device size u64 | gap u64 | the bytes read. The bytes lie `gap` bytes before the end
// of the device, as read_member_bitmap reads them (gap 0) or from the wrong place; inputs
// whose bytes do not fit on the device are skipped.
//
// What must hold: a decode gives a bitmap or a sentence, never both; the bitmap's chunk size is
// a power of two of at least 512; its bits cover the sync size; every one of them lies within
// the bytes read; the dirty ranges are sorted, apart, inside the bitmap and are exactly its set
// bits; format_set_bits prints them in a form that reads back to the same ranges.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../fuzz_input.hpp"
#include "raid/md_bitmap.hpp"

using namespace haspool::raid;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// "3 7-9" back into ranges (what md's bitmap_set_bits reads).
std::vector<ChunkRange> read_set_bits(const std::string& s) {
    std::vector<ChunkRange> out;
    std::size_t at = 0;
    while (at < s.size()) {
        std::size_t end = s.find(' ', at);
        if (end == std::string::npos) end = s.size();
        const std::string item = s.substr(at, end - at);
        const std::size_t dash = item.find('-');
        ChunkRange r;
        r.first = std::stoull(item.substr(0, dash));
        r.last = dash == std::string::npos ? r.first : std::stoull(item.substr(dash + 1));
        out.push_back(r);
        at = end + 1;
    }
    return out;
}

bool bit(const std::vector<uint8_t>& bytes, std::size_t at, uint64_t i) { return bytes[at + i / 8] & (1u << (i % 8)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    haspool::fuzz::FuzzInput in(data, size);
    const uint64_t device = in.u64(), gap = in.u64();
    auto rest = in.rest();
    const std::vector<uint8_t> tail(rest.begin(), rest.end());
    if (tail.size() > device || gap > device - tail.size()) return 0;
    const uint64_t offset = device - tail.size() - gap;

    OnDiskBitmapResult r = decode_member_bitmap(tail, offset, device);
    check(r.bitmap.has_value() != !r.error.empty());
    if (!r.bitmap) return 0;
    const OnDiskBitmap& b = *r.bitmap;
    check(b.chunk_bytes >= 512 && (b.chunk_bytes & (b.chunk_bytes - 1)) == 0);
    const uint64_t chunk_sectors = b.chunk_bytes / 512;
    check(b.nbits == b.sync_sectors / chunk_sectors + (b.sync_sectors % chunk_sectors != 0));

    // Where the bits are, found again the way md lays them out: the superblock 8-12 KiB before
    // the end, 4 KiB aligned; its bitmap offset (signed sectors, at byte 96); the bitmap
    // superblock's 256 bytes; then the bits.
    check(device >= 8192);
    const uint64_t sb = (((device >> 9) - 16) & ~uint64_t{7}) << 9;
    check(sb >= offset && sb - offset + 100 <= tail.size());
    const uint8_t* p = tail.data() + (sb - offset) + 96;
    const int32_t bitmap_sectors = int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    const int64_t bm = int64_t(sb) + int64_t(bitmap_sectors) * 512;
    check(bm >= int64_t(offset));
    const uint64_t bits_at = uint64_t(bm) - offset + 256;
    check(bits_at <= tail.size() && b.nbits / 8 + (b.nbits % 8 != 0) <= tail.size() - bits_at);

    for (std::size_t i = 0; i < b.dirty.size(); ++i) {
        const ChunkRange& c = b.dirty[i];
        check(c.first <= c.last && c.last < b.nbits);
        if (i) check(c.first > b.dirty[i - 1].last + 1);
    }
    check(b.dirty_chunks() <= b.nbits);
    check(read_set_bits(format_set_bits(b.dirty)) == b.dirty);
    std::size_t next = 0;  // the dirty range not yet passed
    for (uint64_t i = 0; i < b.nbits; ++i) {
        while (next < b.dirty.size() && b.dirty[next].last < i) ++next;
        const bool dirty = next < b.dirty.size() && b.dirty[next].first <= i;
        check(bit(tail, bits_at, i) == dirty);
    }
    return 0;
}
