// The NBD wire codec and validate_request: round trips, and one named case per malformed input
// (in the spirit of libnbd's tests/errors-*).
#include <catch2/catch.hpp>

#include <cerrno>

#include "blockdev/nbd_codec.hpp"

using namespace haspool::nbd;

namespace {

ExportLimits limits(uint64_t size = 1 << 20, bool ro = false) {
    ExportLimits l;
    l.size = size;
    l.read_only = ro;
    l.max_request = 1 << 16;
    l.transmission_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
                           NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO;
    return l;
}

Request req(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0) {
    Request r;
    r.type = type;
    r.offset = offset;
    r.length = length;
    r.flags = flags;
    r.cookie = 0x1122334455667788ULL;
    return r;
}

}  // namespace

TEST_CASE("request header round trip keeps every field") {
    Request r = req(NBD_CMD_WRITE, 0x0102030405060708ULL, 0xa0b0c0d0, NBD_CMD_FLAG_FUA);
    uint8_t buf[kRequestHeaderSize];
    encode_request(r, buf);
    CHECK(buf[0] == 0x25);  // big-endian magic 0x25609513
    CHECK(buf[3] == 0x13);
    auto p = parse_request(buf);
    REQUIRE(p);
    CHECK(p->magic == NBD_REQUEST_MAGIC);
    CHECK(p->type == NBD_CMD_WRITE);
    CHECK(p->flags == NBD_CMD_FLAG_FUA);
    CHECK(p->cookie == r.cookie);
    CHECK(p->offset == r.offset);
    CHECK(p->length == r.length);
}

TEST_CASE("simple and structured reply round trips") {
    uint8_t s[kSimpleReplySize];
    encode_simple_reply({NBD_EIO, 42}, s);
    auto sr = parse_simple_reply(s);
    REQUIRE(sr);
    CHECK(sr->error == NBD_EIO);
    CHECK(sr->cookie == 42);
    uint8_t h[kStructuredReplyHeaderSize];
    encode_structured_reply_header({NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 7, 4104}, h);
    auto st = parse_structured_reply_header(h);
    REQUIRE(st);
    CHECK(st->flags == NBD_REPLY_FLAG_DONE);
    CHECK(st->type == NBD_REPLY_TYPE_OFFSET_DATA);
    CHECK(st->cookie == 7);
    CHECK(st->length == 4104);
}

TEST_CASE("option header, option reply and info request round trips") {
    uint8_t oh[kOptionHeaderSize];
    encode_option_header({IHAVEOPT, NBD_OPT_GO, 99}, oh);
    auto o = parse_option_header(oh);
    REQUIRE(o);
    CHECK(o->magic == IHAVEOPT);
    CHECK(o->option == NBD_OPT_GO);
    CHECK(o->length == 99);

    std::vector<uint8_t> out;
    auto info = encode_info_export(12345, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH);
    append_option_reply(out, NBD_OPT_GO, NBD_REP_INFO, info);
    REQUIRE(out.size() == kOptionReplyHeaderSize + 12);
    auto rh = parse_option_reply_header(out);
    REQUIRE(rh);
    CHECK(rh->magic == NBD_REP_MAGIC);
    CHECK(rh->option == NBD_OPT_GO);
    CHECK(rh->type == NBD_REP_INFO);
    CHECK(rh->length == 12);
    CHECK(get_be64(&out[kOptionReplyHeaderSize + 2]) == 12345);

    InfoRequest ir{"disk-y", {NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME}};
    auto bytes = encode_info_request(ir);
    auto back = parse_info_request(bytes);
    REQUIRE(back);
    CHECK(back->name == "disk-y");
    CHECK(back->requests == ir.requests);
}

TEST_CASE("errors-info-request-length-mismatch: inconsistent NBD_OPT_GO payloads are rejected") {
    auto bytes = encode_info_request({"x", {NBD_INFO_BLOCK_SIZE}});
    bytes.push_back(0);  // trailing garbage
    CHECK_FALSE(parse_info_request(bytes));
    bytes.resize(bytes.size() - 2);  // truncated
    CHECK_FALSE(parse_info_request(bytes));
    std::vector<uint8_t> huge_name = {0xff, 0xff, 0xff, 0xff, 0, 0};
    CHECK_FALSE(parse_info_request(huge_name));
}

TEST_CASE("meta context request parses and rejects trailing garbage") {
    std::vector<uint8_t> p = {0, 0, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 15};
    std::string q = "base:allocation";
    p.insert(p.end(), q.begin(), q.end());
    auto m = parse_meta_context_request(p);
    REQUIRE(m);
    CHECK(m->export_name == "a");
    REQUIRE(m->queries.size() == 1);
    CHECK(m->queries[0] == q);
    p.push_back('!');
    CHECK_FALSE(parse_meta_context_request(p));
}

TEST_CASE("valid requests pass validate_request") {
    auto l = limits();
    CHECK(validate_request(req(NBD_CMD_READ, 0, 4096), l).ok());
    CHECK(validate_request(req(NBD_CMD_WRITE, (1 << 20) - 4096, 4096, NBD_CMD_FLAG_FUA), l).ok());
    CHECK(validate_request(req(NBD_CMD_FLUSH, 0, 0), l).ok());
    CHECK(validate_request(req(NBD_CMD_TRIM, 0, 1 << 20), l).ok());
    CHECK(validate_request(req(NBD_CMD_WRITE_ZEROES, 0, 1 << 20, NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO), l).ok());
    CHECK(validate_request(req(NBD_CMD_CACHE, 0, 4096), l).ok());
    CHECK(validate_request(req(NBD_CMD_DISC, 0, 0), l).ok());
}

TEST_CASE("errors-bad-magic: a request with the wrong magic drops the connection") {
    Request r = req(NBD_CMD_READ, 0, 512);
    r.magic = 0xdeadbeef;
    auto v = validate_request(r, limits());
    CHECK(v.action == Validation::Action::disconnect);
    CHECK_THAT(v.reason, Catch::Contains("bad request magic 0xdeadbeef"));
}

TEST_CASE("errors-truncated-header: fewer than 28 bytes is not a request") {
    uint8_t buf[kRequestHeaderSize] = {};
    CHECK_FALSE(parse_request(std::span<const uint8_t>(buf, kRequestHeaderSize - 1)));
    CHECK_FALSE(parse_request({}));
    CHECK_FALSE(parse_option_header(std::span<const uint8_t>(buf, kOptionHeaderSize - 1)));
    CHECK_FALSE(parse_simple_reply(std::span<const uint8_t>(buf, 3)));
}

TEST_CASE("errors-oversize-write: a write larger than the maximum drops the connection") {
    auto v = validate_request(req(NBD_CMD_WRITE, 0, (1 << 16) + 1), limits());
    CHECK(v.action == Validation::Action::disconnect);
    CHECK_THAT(v.reason, Catch::Contains("exceeds the maximum request size 65536"));
}

TEST_CASE("errors-oversize-read: a read larger than the maximum gets EINVAL and the session goes on") {
    auto v = validate_request(req(NBD_CMD_READ, 0, (1 << 16) + 1), limits());
    CHECK(v.action == Validation::Action::reply_error);
    CHECK(v.error == NBD_EINVAL);
}

TEST_CASE("errors-offset-length-overflow: offset+length wrapping past 2^64 is EINVAL") {
    auto v = validate_request(req(NBD_CMD_READ, UINT64_MAX - 100, 4096), limits());
    CHECK(v.action == Validation::Action::reply_error);
    CHECK(v.error == NBD_EINVAL);
    CHECK_THAT(v.reason, Catch::Contains("overflow"));
    auto w = validate_request(req(NBD_CMD_WRITE, UINT64_MAX, 1), limits());
    CHECK(w.action == Validation::Action::reply_error);  // payload is consumed, then EINVAL
}

TEST_CASE("errors-unknown-command: unknown or unadvertised commands get EINVAL") {
    auto v = validate_request(req(99, 0, 512), limits());
    CHECK(v.action == Validation::Action::reply_error);
    CHECK(v.error == NBD_EINVAL);
    auto l = limits();
    l.transmission_flags &= uint16_t(~NBD_FLAG_SEND_TRIM);
    CHECK(validate_request(req(NBD_CMD_TRIM, 0, 512), l).error == NBD_EINVAL);
    CHECK(validate_request(req(NBD_CMD_RESIZE, 0, 512), limits()).error == NBD_EINVAL);
}

TEST_CASE("errors-unknown-flags: flags a command does not take get EINVAL") {
    CHECK(validate_request(req(NBD_CMD_READ, 0, 512, 1u << 9), limits()).error == NBD_EINVAL);
    CHECK(validate_request(req(NBD_CMD_WRITE, 0, 512, NBD_CMD_FLAG_NO_HOLE), limits()).error == NBD_EINVAL);
    CHECK(validate_request(req(NBD_CMD_READ, 0, 512, NBD_CMD_FLAG_DF), limits()).error == NBD_EINVAL);
    auto l = limits();
    l.transmission_flags &= uint16_t(~NBD_FLAG_SEND_FAST_ZERO);
    CHECK(validate_request(req(NBD_CMD_WRITE_ZEROES, 0, 512, NBD_CMD_FLAG_FAST_ZERO), l).error == NBD_EINVAL);
}

TEST_CASE("errors-write-past-end: writes beyond the export get ENOSPC, reads EINVAL") {
    auto w = validate_request(req(NBD_CMD_WRITE, (1 << 20) - 511, 512), limits());
    CHECK(w.action == Validation::Action::reply_error);
    CHECK(w.error == NBD_ENOSPC);
    CHECK_THAT(w.reason, Catch::Contains("offset and length are out of range: offset=1048065 length=512"));
    CHECK(validate_request(req(NBD_CMD_WRITE_ZEROES, 1 << 20, 1), limits()).error == NBD_ENOSPC);
    CHECK(validate_request(req(NBD_CMD_READ, 1 << 20, 1), limits()).error == NBD_EINVAL);
}

TEST_CASE("errors-read-only: write, trim and write-zeroes on a read-only export get EPERM") {
    auto l = limits(1 << 20, true);
    CHECK(validate_request(req(NBD_CMD_WRITE, 0, 512), l).error == NBD_EPERM);
    CHECK(validate_request(req(NBD_CMD_TRIM, 0, 512), l).error == NBD_EPERM);
    CHECK(validate_request(req(NBD_CMD_WRITE_ZEROES, 0, 512), l).error == NBD_EPERM);
    CHECK(validate_request(req(NBD_CMD_READ, 0, 512), l).ok());
}

TEST_CASE("errors-zero-length: zero-length data commands get EINVAL") {
    CHECK(validate_request(req(NBD_CMD_READ, 0, 0), limits()).error == NBD_EINVAL);
    CHECK(validate_request(req(NBD_CMD_WRITE, 0, 0), limits()).error == NBD_EINVAL);
}

TEST_CASE("errors-trailing-garbage: a header followed by junk parses only the header") {
    uint8_t buf[kRequestHeaderSize + 5];
    encode_request(req(NBD_CMD_READ, 0, 512), buf);
    for (int i = 0; i < 5; ++i) buf[kRequestHeaderSize + i] = 0xee;
    auto r = parse_request(buf);
    REQUIRE(r);
    CHECK(r->length == 512);
    // The junk is then read as the next header and its magic drops the connection.
    auto next = parse_request(std::span<const uint8_t>(buf + 5, kRequestHeaderSize));
    REQUIRE(next);
    CHECK(validate_request(*next, limits()).action == Validation::Action::disconnect);
}

TEST_CASE("errno maps to NBD errors in one place") {
    CHECK(errno_to_nbd_error(0) == 0);
    CHECK(errno_to_nbd_error(EROFS) == NBD_EPERM);
    CHECK(errno_to_nbd_error(EDQUOT) == NBD_ENOSPC);
    CHECK(errno_to_nbd_error(EOPNOTSUPP) == NBD_ENOTSUP);
    CHECK(errno_to_nbd_error(ENOMEM) == NBD_ENOMEM);
    CHECK(errno_to_nbd_error(EBADF) == NBD_EIO);  // anything unexpected is an I/O error
}
