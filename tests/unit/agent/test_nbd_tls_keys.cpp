// The NBD link's keys as both nodes derive them from the secret files (nbd.tls): the same
// secret gives the same identity and key on either node, another secret another of both, and
// the identity names the secret by the heartbeats' key id, never by its bytes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "agent/peer/heartbeat_codec.hpp"
#include "agent/system/nbd_tls_keys.hpp"

using namespace haspool;
using namespace haspool::agent;

TEST_CASE("nbd_tls_keys: one key per secret, named cluster/keyid, deterministic") {
    std::string why;
    auto a = nbd_tls_keys("mailspool", "first secret", "", why);
    REQUIRE(a.size() == 1);
    KeyId id = key_id("first secret");
    CHECK(a[0].identity == "mailspool/" + to_hex(id.data(), id.size()));
    CHECK(a[0].identity.find("first secret") == std::string::npos);

    auto again = nbd_tls_keys("mailspool", "first secret", "", why);
    REQUIRE(again.size() == 1);  // the other node, from the same file: the same key
    CHECK(again[0].identity == a[0].identity);
    CHECK(again[0].key == a[0].key);

    // A rotation: current first, then next, each different in name and bytes.
    auto both = nbd_tls_keys("mailspool", "first secret", "second secret", why);
    REQUIRE(both.size() == 2);
    CHECK(both[0].identity == a[0].identity);
    CHECK(both[0].key == a[0].key);
    CHECK(both[1].identity != both[0].identity);
    CHECK(both[1].key != both[0].key);

    // Another cluster with the same secret file: another key (the identity is in the derivation).
    auto other = nbd_tls_keys("othercluster", "first secret", "", why);
    REQUIRE(other.size() == 1);
    CHECK(other[0].key != a[0].key);
    // The key is not the secret, nor all zeros.
    CHECK(std::any_of(a[0].key.begin(), a[0].key.end(), [](uint8_t b) { return b != 0; }));
}

TEST_CASE("nbd_tls_keys: an empty secret or a ':' in the cluster name gives no key, with the reason") {
    std::string why;
    CHECK(nbd_tls_keys("mailspool", "", "", why).empty());
    CHECK(why.find("the secret is empty") != std::string::npos);
    why.clear();
    CHECK(nbd_tls_keys("mail:spool", "s", "", why).empty());
    CHECK(why.find("may not hold ':'") != std::string::npos);
}

TEST_CASE("nbd_tls_link_keys: none when nbd.tls is off, otherwise next first, the order a client tries") {
    config::Config c;
    c.cluster.name = "mailspool";
    std::string why;
    CHECK(nbd_tls_link_keys(c, "first secret", "second secret", why).empty());
    c.nbd.tls = config::NbdTls::required;
    auto both = nbd_tls_keys("mailspool", "first secret", "second secret", why);
    auto link = nbd_tls_link_keys(c, "first secret", "second secret", why);
    REQUIRE(link.size() == 2);
    CHECK(link[0].identity == both[1].identity);
    CHECK(link[0].key == both[1].key);
    CHECK(link[1].identity == both[0].identity);
    CHECK(nbd_tls_link_keys(c, "first secret", "", why).size() == 1);
    CHECK(nbd_tls_link_keys(c, "", "", why).empty());
    CHECK_THAT(why, Catch::Contains("the secret is empty"));
}
