#pragma once
// NBD wire codec: parses frames from byte buffers and returns values; encodes frames into
// caller-provided buffers. No socket I/O here, so every function is unit-testable and fuzzable.
// Everything on the wire is big-endian (doc/proto.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blockdev/nbd_protocol.hpp"

namespace haspool::nbd {

inline constexpr std::size_t kRequestHeaderSize = 28;        // simple (non-extended) request
inline constexpr std::size_t kSimpleReplySize = 16;
inline constexpr std::size_t kStructuredReplyHeaderSize = 20;
inline constexpr std::size_t kOptionHeaderSize = 16;         // IHAVEOPT, option, length
inline constexpr std::size_t kOptionReplyHeaderSize = 20;    // magic, option, type, length

// Big-endian helpers over raw bytes (callers have checked the size).
uint16_t get_be16(const uint8_t* p);
uint32_t get_be32(const uint8_t* p);
uint64_t get_be64(const uint8_t* p);
void put_be16(uint8_t* p, uint16_t v);
void put_be32(uint8_t* p, uint32_t v);
void put_be64(uint8_t* p, uint64_t v);

// ---- Transmission phase -------------------------------------------------------------------

struct Request {
    uint32_t magic = NBD_REQUEST_MAGIC;
    uint16_t flags = 0;   // NBD_CMD_FLAG_*
    uint16_t type = 0;    // NBD_CMD_*
    uint64_t cookie = 0;  // "handle" in older spec text; echoed in the reply
    uint64_t offset = 0;
    uint32_t length = 0;
};

// Parses exactly one request header from the first kRequestHeaderSize bytes of `bytes`;
// nullopt when fewer bytes are given. Does not judge the values (validate_request does).
std::optional<Request> parse_request(std::span<const uint8_t> bytes);
void encode_request(const Request& r, uint8_t out[kRequestHeaderSize]);

struct SimpleReply {
    uint32_t error = 0;  // NBD_E* wire value
    uint64_t cookie = 0;
};
void encode_simple_reply(const SimpleReply& r, uint8_t out[kSimpleReplySize]);
std::optional<SimpleReply> parse_simple_reply(std::span<const uint8_t> bytes);

// Structured reply chunk header; `length` is the payload that follows.
struct StructuredReplyHeader {
    uint16_t flags = 0;  // NBD_REPLY_FLAG_DONE
    uint16_t type = 0;   // NBD_REPLY_TYPE_*
    uint64_t cookie = 0;
    uint32_t length = 0;
};
void encode_structured_reply_header(const StructuredReplyHeader& h, uint8_t out[kStructuredReplyHeaderSize]);
std::optional<StructuredReplyHeader> parse_structured_reply_header(std::span<const uint8_t> bytes);

// What the server knows about the export and the session when it judges a request.
struct ExportLimits {
    uint64_t size = 0;
    bool read_only = false;
    uint32_t max_request = 32u * 1024 * 1024;  // largest READ/WRITE/CACHE payload accepted
    uint16_t transmission_flags = 0;            // as advertised (decides FAST_ZERO, DF, ...)
    bool block_status = false;                  // the session negotiated base:allocation
};

// The verdict on one request header, before any I/O.
struct Validation {
    enum class Action {
        execute,     // valid: do the I/O
        reply_error, // answer `error` (after consuming a WRITE payload) and carry on
        disconnect,  // the stream cannot be trusted any more (bad magic, oversize payload)
    };
    Action action = Action::execute;
    uint32_t error = 0;   // NBD_E* for reply_error
    std::string reason;   // a sentence with the numbers, for the log and the counters
    bool ok() const { return action == Action::execute; }
};

// The one gate every request passes before any I/O: magic, type, flags, offset+length overflow
// and bounds, maximum request size, read-only export.
Validation validate_request(const Request& r, const ExportLimits& limits);

// Bytes of payload that follow this request header on the wire (WRITE's data). Only meaningful
// when validate_request did not say disconnect.
inline uint32_t request_payload_length(const Request& r) { return r.type == NBD_CMD_WRITE ? r.length : 0; }

// errno -> NBD wire error. The only place that mapping lives.
uint32_t errno_to_nbd_error(int err);
const char* nbd_error_name(uint32_t nbd_error);
const char* command_name(uint16_t type);

// ---- Handshake phase ----------------------------------------------------------------------

struct OptionHeader {
    uint64_t magic = IHAVEOPT;
    uint32_t option = 0;
    uint32_t length = 0;
};
std::optional<OptionHeader> parse_option_header(std::span<const uint8_t> bytes);
void encode_option_header(const OptionHeader& h, uint8_t out[kOptionHeaderSize]);

struct OptionReplyHeader {
    uint64_t magic = NBD_REP_MAGIC;
    uint32_t option = 0;
    uint32_t type = 0;
    uint32_t length = 0;
};
std::optional<OptionReplyHeader> parse_option_reply_header(std::span<const uint8_t> bytes);
// Appends header + payload to `out`.
void append_option_reply(std::vector<uint8_t>& out, uint32_t option, uint32_t type, std::span<const uint8_t> payload);

// NBD_OPT_INFO / NBD_OPT_GO payload: u32 name length, name, u16 count, count x u16 info types.
struct InfoRequest {
    std::string name;
    std::vector<uint16_t> requests;
};
// nullopt when the payload's lengths disagree (the server answers NBD_REP_ERR_INVALID).
std::optional<InfoRequest> parse_info_request(std::span<const uint8_t> payload);
std::vector<uint8_t> encode_info_request(const InfoRequest& r);

// NBD_REP_INFO payloads.
std::vector<uint8_t> encode_info_export(uint64_t size, uint16_t transmission_flags);
std::vector<uint8_t> encode_info_block_size(uint32_t min_block, uint32_t preferred, uint32_t max_block);
std::vector<uint8_t> encode_info_string(uint16_t info_type, std::string_view s);  // NAME, DESCRIPTION

// The one metadata context this server offers, and the id it has in NBD_REP_META_CONTEXT.
inline constexpr std::string_view kBaseAllocation = "base:allocation";
inline constexpr uint32_t kBaseAllocationId = 1;

// NBD_OPT_{LIST,SET}_META_CONTEXT payload: u32 name length, name, u32 count, count x (u32 len, query).
struct MetaContextRequest {
    std::string export_name;
    std::vector<std::string> queries;
};
std::optional<MetaContextRequest> parse_meta_context_request(std::span<const uint8_t> payload);

}  // namespace haspool::nbd
