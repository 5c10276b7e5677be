// SHA-256 against the FIPS 180-4 / NIST example vectors.
#include <gtest/gtest.h>

#include <string>

#include "core/io/sha256.h"

namespace {

using dxl::io::sha256_hex;

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalUpdatesMatchOneShot) {
    std::string data;
    for (int i = 0; i < 1000; ++i)
        data.push_back(char(i * 37 + 11));
    const std::string expected = sha256_hex(data);
    for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 127u, 999u}) {
        dxl::io::Sha256 h;
        for (size_t off = 0; off < data.size(); off += chunk) {
            h.update(std::string_view(data).substr(off, chunk));
        }
        std::string hex;
        for (uint8_t b : h.digest()) {
            static const char* kHex = "0123456789abcdef";
            hex.push_back(kHex[b >> 4]);
            hex.push_back(kHex[b & 15]);
        }
        EXPECT_EQ(hex, expected) << "chunk " << chunk;
    }
}

}  // namespace
