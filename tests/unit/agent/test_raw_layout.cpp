// Where the spool lies on Y for the raw takeover: mdadm --examine's data area, the filesystem's
// own size from its superblock, and the loop geometry's safety checks (agent/system/raw_layout.hpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "agent/system/raw_layout.hpp"

using namespace haspool;
using namespace haspool::agent;

namespace {

// mdadm 4.2's --examine of a metadata-1.0 member (Data Offset 0 is not printed).
const char* kExamine10 = R"(/dev/vdb:
          Magic : a92b4efc
        Version : 1.0
    Feature Map : 0x1
     Array UUID : 0f7a3b52:8d0e4b1c:9a61d2e3:5c4f7a10
           Name : haspool
  Creation Time : Tue Nov 24 04:12:31 2026
     Raid Level : raid1
   Raid Devices : 2

 Avail Dev Size : 262096 sectors (127.98 MiB 134.19 MB)
     Array Size : 131040 KiB (127.97 MiB 134.18 MB)
  Used Dev Size : 262080 sectors (127.97 MiB 134.18 MB)
   Super Offset : 262128 sectors
   Unused Space : before=0 sectors, after=32 sectors
          State : clean
    Device UUID : 1c2d3e4f:5a6b7c8d:9e0f1a2b:3c4d5e6f

Internal Bitmap : -16 sectors from superblock
    Update Time : Tue Nov 24 04:40:02 2026
  Bad Block Log : 512 entries available at offset -8 sectors
       Checksum : 8a1b2c3d - correct
         Events : 41

   Device Role : Active device 0
   Array State : AA ('A' == active, '.' == missing, 'R' == replacing)
)";

const char* kExamine12 = R"(/dev/vdc:
          Magic : a92b4efc
        Version : 1.2
 Avail Dev Size : 260096 sectors (127.00 MiB 133.17 MB)
     Array Size : 130048 KiB (127.00 MiB 133.17 MB)
    Data Offset : 2048 sectors
   Super Offset : 8 sectors
)";

std::vector<uint8_t> ext_head(uint32_t blocks_lo, uint32_t log_block, uint32_t blocks_hi = 0, bool bit64 = false) {
    std::vector<uint8_t> b(4096, 0);
    uint8_t* sb = b.data() + 1024;
    auto put32 = [](uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i)); };
    put32(sb + 0x04, blocks_lo);
    put32(sb + 0x18, log_block);
    sb[0x38] = 0x53;
    sb[0x39] = 0xEF;
    if (bit64) put32(sb + 0x60, 0x80);
    put32(sb + 0x150, blocks_hi);
    return b;
}

std::vector<uint8_t> xfs_head(uint32_t block_size, uint64_t dblocks) {
    std::vector<uint8_t> b(4096, 0);
    std::memcpy(b.data(), "XFSB", 4);
    for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(block_size >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(dblocks >> (56 - 8 * i));
    return b;
}

}  // namespace

TEST_CASE("raw layout: mdadm --examine of a 1.0 member: data from sector 0, the used size") {
    std::string error;
    auto a = parse_md_examine(kExamine10, &error);
    INFO(error);
    REQUIRE(a);
    CHECK(a->version == "1.0");
    CHECK(a->offset_bytes == 0);
    CHECK(a->size_bytes == 262080ull * 512);
}

TEST_CASE("raw layout: mdadm --examine of a 1.2 member: the data offset, Avail Dev Size when no Used") {
    std::string error;
    auto a = parse_md_examine(kExamine12, &error);
    REQUIRE(a);
    CHECK(a->offset_bytes == 2048ull * 512);
    CHECK(a->size_bytes == 260096ull * 512);
}

TEST_CASE("raw layout: examine output that is not a 1.x member is refused with the reason") {
    std::string error;
    CHECK_FALSE(parse_md_examine("          Magic : a92b4efc\n        Version : 0.90.00\n", &error));
    CHECK_THAT(error, Catch::Contains("md metadata 0.90.00, not 1.x"));
    CHECK_FALSE(parse_md_examine("mdadm: No md superblock detected on /dev/vdb.\n", &error));
    CHECK_THAT(error, Catch::Contains("no md superblock version"));
    CHECK_FALSE(parse_md_examine("        Version : 1.0\n", &error));
    CHECK_THAT(error, Catch::Contains("no device size"));
    CHECK_FALSE(parse_md_examine("        Version : 1.2\n    Data Offset : lots\n Avail Dev Size : 8 sectors\n", &error));
    CHECK_THAT(error, Catch::Contains("unreadable Data Offset 'lots'"));
}

TEST_CASE("raw layout: ext2/3/4 size from the superblock (32- and 64-bit block counts)") {
    std::string error;
    auto h = ext_head(32768, 2);  // 32768 blocks of 4 KiB
    CHECK(filesystem_bytes(h.data(), h.size(), config::Filesystem::ext4, &error) == 32768ull * 4096);
    auto big = ext_head(0, 2, 1, true);  // 2^32 blocks of 4 KiB
    CHECK(filesystem_bytes(big.data(), big.size(), config::Filesystem::ext4, &error) == (1ull << 32) * 4096);
    auto hi_ignored = ext_head(10, 0, 1, false);  // without INCOMPAT_64BIT the high word is not used
    CHECK(filesystem_bytes(hi_ignored.data(), hi_ignored.size(), config::Filesystem::ext2, &error) == 10ull * 1024);
    std::vector<uint8_t> zero(4096, 0);
    CHECK_FALSE(filesystem_bytes(zero.data(), zero.size(), config::Filesystem::ext4, &error));
    CHECK_THAT(error, Catch::Contains("magic 0xEF53"));
    CHECK_FALSE(filesystem_bytes(h.data(), 1000, config::Filesystem::ext4, &error));
    auto bad_log = ext_head(10, 9);
    CHECK_FALSE(filesystem_bytes(bad_log.data(), bad_log.size(), config::Filesystem::ext4, &error));
}

TEST_CASE("raw layout: xfs size from the superblock") {
    std::string error;
    auto h = xfs_head(4096, 25600);
    CHECK(filesystem_bytes(h.data(), h.size(), config::Filesystem::xfs, &error) == 25600ull * 4096);
    auto ext = ext_head(10, 2);
    CHECK_FALSE(filesystem_bytes(ext.data(), ext.size(), config::Filesystem::xfs, &error));
    CHECK_THAT(error, Catch::Contains("XFSB"));
    auto odd = xfs_head(3000, 10);
    CHECK_FALSE(filesystem_bytes(odd.data(), odd.size(), config::Filesystem::xfs, &error));
}

TEST_CASE("raw layout: the loop geometry stays inside md's data area and off md 1.0's superblock") {
    std::string error;
    MdDataArea area{0, 262080ull * 512, "1.0"};
    const uint64_t dev = 262144ull * 512;
    auto g = raw_geometry(area, 131040ull * 1024, dev, &error);
    REQUIRE(g);
    CHECK(g->offset == 0);
    CHECK(g->size == 131040ull * 1024);
    // A filesystem larger than md's data area was not made on this array.
    CHECK_FALSE(raw_geometry(area, area.size_bytes + 4096, dev, &error));
    CHECK_THAT(error, Catch::Contains("larger than md's data area"));
    // md's superblock unreadable: offset 0 (metadata 1.0), and the end of the device stays out.
    g = raw_geometry(std::nullopt, dev - 65536, dev, &error);
    REQUIRE(g);
    CHECK(g->offset == 0);
    CHECK_FALSE(raw_geometry(std::nullopt, dev, dev, &error));
    CHECK_THAT(error, Catch::Contains("does not leave room for md's superblock"));
    // 1.2: the mapping starts at the data offset.
    MdDataArea a12{2048ull * 512, 260096ull * 512, "1.2"};
    g = raw_geometry(a12, 130048ull * 1024, dev, &error);
    REQUIRE(g);
    CHECK(g->offset == 2048ull * 512);
}
