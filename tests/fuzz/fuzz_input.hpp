#pragma once
// A fuzz input read from the front, in the order the seeds under tests/fuzz/corpus/ are written,
// so a seed reads as what it is (a datagram script, a server's byte stream). Past the end every
// number reads as 0 and every byte run as empty: any input is a complete script.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace haspool::fuzz {

class FuzzInput {
public:
    FuzzInput(const uint8_t* data, std::size_t size) : p_(data), n_(size) {}

    bool empty() const { return off_ == n_; }
    std::size_t left() const { return n_ - off_; }

    uint8_t u8() { return left() ? p_[off_++] : 0; }
    // Big-endian, like the wire formats (each high part read first: the operands of | are unsequenced).
    uint16_t u16() {
        uint16_t hi = u8();
        return uint16_t(hi << 8 | u8());
    }
    uint32_t u32() {
        uint32_t hi = u16();
        return hi << 16 | u16();
    }
    uint64_t u64() {
        uint64_t hi = u32();
        return hi << 32 | u32();
    }

    // At most n bytes (fewer at the end).
    std::span<const uint8_t> bytes(std::size_t n) {
        if (n > left()) n = left();
        std::span<const uint8_t> s(p_ + off_, n);
        off_ += n;
        return s;
    }
    std::span<const uint8_t> rest() { return bytes(left()); }
    std::string_view text(std::size_t n) {
        auto b = bytes(n);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }

private:
    const uint8_t* p_;
    std::size_t n_;
    std::size_t off_ = 0;
};

}  // namespace haspool::fuzz
