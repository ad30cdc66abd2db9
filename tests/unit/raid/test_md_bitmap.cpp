#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

#include "raid/md_bitmap.hpp"

using namespace haspool::raid;

namespace {
std::string data(const std::string& name) {
    std::ifstream f(std::string(HASPOOL_SOURCE_DIR) + "/tests/unit/raid/data/" + name, std::ios::binary);
    REQUIRE(f);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
}  // namespace

// Captured on a VM lab guest: X after its mirror leg failed and 3 MiB more were written.
TEST_CASE("mdadm -X of a degraded member") {
    auto r = parse_examine_bitmap(data("mdadm-X-degraded.txt"));
    REQUIRE(r.error.empty());
    REQUIRE(r.summary);
    CHECK(r.summary->uuid == "3e1a3973:dd07c34a:b09b7775:7a208cb2");
    CHECK(r.summary->events == 23);
    CHECK(r.summary->events_cleared == 18);
    CHECK(r.summary->state == "OK");
    CHECK(r.summary->chunk_bytes == 1024 * 1024);
    CHECK(r.summary->sync_size_kib == 131008);
    CHECK(r.summary->bits == 128);
    CHECK(r.summary->dirty == 7);
}

TEST_CASE("mdadm -X of the stale member it failed") {
    auto r = parse_examine_bitmap(data("mdadm-X-stale-member.txt"));
    REQUIRE(r.summary);
    CHECK(r.summary->events < 23);
}

TEST_CASE("mdadm -X output without a bitmap is an error, not zeros") {
    auto r = parse_examine_bitmap("        Filename : /dev/vdb\n           Magic : 00000000\n");
    CHECK_FALSE(r.summary);
    CHECK(r.error.find("no md bitmap") != std::string::npos);
    CHECK_FALSE(parse_examine_bitmap("").summary);
}

TEST_CASE("Events of mdadm --examine") {
    auto ev = parse_events(data("mdadm-examine.txt"));
    REQUIRE(ev);
    CHECK(*ev == 23);
    CHECK_FALSE(parse_events("nothing here"));
}

TEST_CASE("dirty bits are little-endian within each byte and merge into ranges") {
    const uint8_t bits[] = {0b00000101, 0b11100000, 0b00000001, 0xff};
    auto r = dirty_ranges(bits, sizeof bits, 25);  // of the last byte only bit 24 counts
    REQUIRE(r.size() == 4);
    CHECK(r[0] == ChunkRange{0, 0});
    CHECK(r[1] == ChunkRange{2, 2});
    CHECK(r[2] == ChunkRange{13, 16});
    CHECK(r[3] == ChunkRange{24, 24});
    CHECK(format_set_bits(r) == "0 2 13-16 24");
    CHECK(format_set_bits({}).empty());
}

// The last 64 KiB of the same degraded X (128 MiB): the metadata-1.0 superblock and its
// internal bitmap. The decoder must find exactly what mdadm -X counted.
TEST_CASE("decoding a member's own bitmap agrees with mdadm -X") {
    std::string tail = data("member-tail-64k.bin");
    REQUIRE(tail.size() == 65536);
    std::vector<uint8_t> bytes(tail.begin(), tail.end());
    const uint64_t size = 128ull << 20;
    auto r = decode_member_bitmap(bytes, size - bytes.size(), size);
    REQUIRE(r.error.empty());
    REQUIRE(r.bitmap);
    CHECK(r.bitmap->chunk_bytes == 1024 * 1024);
    CHECK(r.bitmap->nbits == 128);
    CHECK(r.bitmap->events == 23);
    CHECK(r.bitmap->dirty_chunks() == 7);
}

TEST_CASE("decoding refuses a device without an md superblock") {
    std::vector<uint8_t> zeros(65536, 0);
    auto r = decode_member_bitmap(zeros, (128ull << 20) - zeros.size(), 128ull << 20);
    CHECK_FALSE(r.bitmap);
    CHECK(r.error.find("no md metadata-1.0 superblock") != std::string::npos);
    auto far = decode_member_bitmap(zeros, 0, 128ull << 20);  // bytes read from the wrong place
    CHECK(far.error.find("outside the bytes read") != std::string::npos);
}

// Found writing fuzz_md_bitmap (its invariant "every bit lies within the bytes read" fails on
// this input): a bitmap superblock claiming a sync size of 2^64-1 sectors made the bit count's
// arithmetic wrap, so the bounds check passed and the decoder returned a bitmap whose bits lay
// far outside what was read (512-byte chunks), or one of no bits at all (1 KiB chunks).
TEST_CASE("decoding refuses a bitmap whose size wraps the arithmetic") {
    std::string tail = data("member-tail-64k.bin");
    std::vector<uint8_t> bytes(tail.begin(), tail.end());
    const uint64_t size = 128ull << 20;
    const size_t bm = 0xc000;  // the bitmap superblock in these bytes ("bitm")
    REQUIRE(std::string(bytes.begin() + bm, bytes.begin() + bm + 4) == "bitm");
    auto put_le = [&](size_t at, uint64_t v, int n) {
        for (int i = 0; i < n; ++i) bytes[at + i] = uint8_t(v >> (8 * i));
    };
    put_le(bm + 40, UINT64_MAX, 8);  // sync size, sectors
    for (uint32_t chunk : {512u, 1024u}) {
        put_le(bm + 52, chunk, 4);
        auto r = decode_member_bitmap(bytes, size - bytes.size(), size);
        INFO("chunk " << chunk);
        CHECK_FALSE(r.bitmap);
        CHECK(r.error.find("the bitmap's bits lie outside the bytes read") != std::string::npos);
    }
}
