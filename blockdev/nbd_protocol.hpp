#pragma once
// NBD wire constants, named as in the protocol specification (NetworkBlockDevice/nbd
// doc/proto.md). Values only — no behaviour. Everything on the wire is big-endian.
#include <cstdint>

namespace haspool::nbd {

// Handshake (fixed newstyle only).
inline constexpr uint64_t NBDMAGIC = 0x4e42444d41474943ULL;  // "NBDMAGIC"
inline constexpr uint64_t IHAVEOPT = 0x49484156454F5054ULL;  // "IHAVEOPT"
inline constexpr uint64_t NBD_REP_MAGIC = 0x0003e889045565a9ULL;

// Handshake flags (server -> client, 16 bits).
inline constexpr uint16_t NBD_FLAG_FIXED_NEWSTYLE = 1u << 0;
inline constexpr uint16_t NBD_FLAG_NO_ZEROES = 1u << 1;
// Client flags (client -> server, 32 bits).
inline constexpr uint32_t NBD_FLAG_C_FIXED_NEWSTYLE = 1u << 0;
inline constexpr uint32_t NBD_FLAG_C_NO_ZEROES = 1u << 1;

// Transmission flags (16 bits).
inline constexpr uint16_t NBD_FLAG_HAS_FLAGS = 1u << 0;
inline constexpr uint16_t NBD_FLAG_READ_ONLY = 1u << 1;
inline constexpr uint16_t NBD_FLAG_SEND_FLUSH = 1u << 2;
inline constexpr uint16_t NBD_FLAG_SEND_FUA = 1u << 3;
inline constexpr uint16_t NBD_FLAG_ROTATIONAL = 1u << 4;
inline constexpr uint16_t NBD_FLAG_SEND_TRIM = 1u << 5;
inline constexpr uint16_t NBD_FLAG_SEND_WRITE_ZEROES = 1u << 6;
inline constexpr uint16_t NBD_FLAG_SEND_DF = 1u << 7;
inline constexpr uint16_t NBD_FLAG_CAN_MULTI_CONN = 1u << 8;
inline constexpr uint16_t NBD_FLAG_SEND_RESIZE = 1u << 9;
inline constexpr uint16_t NBD_FLAG_SEND_CACHE = 1u << 10;
inline constexpr uint16_t NBD_FLAG_SEND_FAST_ZERO = 1u << 11;
inline constexpr uint16_t NBD_FLAG_BLOCK_STAT_PAYLOAD = 1u << 12;

// Options.
inline constexpr uint32_t NBD_OPT_EXPORT_NAME = 1;
inline constexpr uint32_t NBD_OPT_ABORT = 2;
inline constexpr uint32_t NBD_OPT_LIST = 3;
inline constexpr uint32_t NBD_OPT_PEEK_EXPORT = 4;  // withdrawn
inline constexpr uint32_t NBD_OPT_STARTTLS = 5;
inline constexpr uint32_t NBD_OPT_INFO = 6;
inline constexpr uint32_t NBD_OPT_GO = 7;
inline constexpr uint32_t NBD_OPT_STRUCTURED_REPLY = 8;
inline constexpr uint32_t NBD_OPT_LIST_META_CONTEXT = 9;
inline constexpr uint32_t NBD_OPT_SET_META_CONTEXT = 10;
inline constexpr uint32_t NBD_OPT_EXTENDED_HEADERS = 11;

// Option replies.
inline constexpr uint32_t NBD_REP_ACK = 1;
inline constexpr uint32_t NBD_REP_SERVER = 2;
inline constexpr uint32_t NBD_REP_INFO = 3;
inline constexpr uint32_t NBD_REP_META_CONTEXT = 4;
inline constexpr uint32_t NBD_REP_FLAG_ERROR = 1u << 31;
inline constexpr uint32_t NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
inline constexpr uint32_t NBD_REP_ERR_POLICY = NBD_REP_FLAG_ERROR | 2;
inline constexpr uint32_t NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
inline constexpr uint32_t NBD_REP_ERR_PLATFORM = NBD_REP_FLAG_ERROR | 4;
inline constexpr uint32_t NBD_REP_ERR_TLS_REQD = NBD_REP_FLAG_ERROR | 5;
inline constexpr uint32_t NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;
inline constexpr uint32_t NBD_REP_ERR_SHUTDOWN = NBD_REP_FLAG_ERROR | 7;
inline constexpr uint32_t NBD_REP_ERR_BLOCK_SIZE_REQD = NBD_REP_FLAG_ERROR | 8;
inline constexpr uint32_t NBD_REP_ERR_TOO_BIG = NBD_REP_FLAG_ERROR | 9;
inline constexpr uint32_t NBD_REP_ERR_EXT_HEADER_REQD = NBD_REP_FLAG_ERROR | 10;

// NBD_REP_INFO types.
inline constexpr uint16_t NBD_INFO_EXPORT = 0;
inline constexpr uint16_t NBD_INFO_NAME = 1;
inline constexpr uint16_t NBD_INFO_DESCRIPTION = 2;
inline constexpr uint16_t NBD_INFO_BLOCK_SIZE = 3;

// Transmission.
inline constexpr uint32_t NBD_REQUEST_MAGIC = 0x25609513;
inline constexpr uint32_t NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
inline constexpr uint32_t NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

inline constexpr uint16_t NBD_CMD_READ = 0;
inline constexpr uint16_t NBD_CMD_WRITE = 1;
inline constexpr uint16_t NBD_CMD_DISC = 2;
inline constexpr uint16_t NBD_CMD_FLUSH = 3;
inline constexpr uint16_t NBD_CMD_TRIM = 4;
inline constexpr uint16_t NBD_CMD_CACHE = 5;
inline constexpr uint16_t NBD_CMD_WRITE_ZEROES = 6;
inline constexpr uint16_t NBD_CMD_BLOCK_STATUS = 7;
inline constexpr uint16_t NBD_CMD_RESIZE = 8;

inline constexpr uint16_t NBD_CMD_FLAG_FUA = 1u << 0;
inline constexpr uint16_t NBD_CMD_FLAG_NO_HOLE = 1u << 1;
inline constexpr uint16_t NBD_CMD_FLAG_DF = 1u << 2;
inline constexpr uint16_t NBD_CMD_FLAG_REQ_ONE = 1u << 3;
inline constexpr uint16_t NBD_CMD_FLAG_FAST_ZERO = 1u << 4;
inline constexpr uint16_t NBD_CMD_FLAG_PAYLOAD_LEN = 1u << 5;

// Structured replies.
inline constexpr uint16_t NBD_REPLY_FLAG_DONE = 1u << 0;
inline constexpr uint16_t NBD_REPLY_TYPE_NONE = 0;
inline constexpr uint16_t NBD_REPLY_TYPE_OFFSET_DATA = 1;
inline constexpr uint16_t NBD_REPLY_TYPE_OFFSET_HOLE = 2;
inline constexpr uint16_t NBD_REPLY_TYPE_BLOCK_STATUS = 5;
inline constexpr uint16_t NBD_REPLY_TYPE_ERROR = (1u << 15) | 1;
inline constexpr uint16_t NBD_REPLY_TYPE_ERROR_OFFSET = (1u << 15) | 2;

// base:allocation block status flags.
inline constexpr uint32_t NBD_STATE_HOLE = 1u << 0;
inline constexpr uint32_t NBD_STATE_ZERO = 1u << 1;

// Error values on the wire (not the host's errno numbering, although they coincide on Linux).
inline constexpr uint32_t NBD_EPERM = 1;
inline constexpr uint32_t NBD_EIO = 5;
inline constexpr uint32_t NBD_ENOMEM = 12;
inline constexpr uint32_t NBD_EINVAL = 22;
inline constexpr uint32_t NBD_ENOSPC = 28;
inline constexpr uint32_t NBD_EOVERFLOW = 75;
inline constexpr uint32_t NBD_ENOTSUP = 95;
inline constexpr uint32_t NBD_ESHUTDOWN = 108;

// Limits: option payloads beyond this are refused; NBD_OPT_EXPORT_NAME names up to 4096 bytes.
inline constexpr uint32_t kMaxOptionLength = 64 * 1024;
inline constexpr uint32_t kMaxStringLength = 4096;

}  // namespace haspool::nbd
