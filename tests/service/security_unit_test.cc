// The parts of service/security that decide on their own input: the auth
// file's grammar, bearer headers, token hashes, loopback addresses and the
// session owner table.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/security/listen_address.h"
#include "service/security/principals.h"
#include "service/security/session_owners.h"
#include "service/security/token_hash.h"

namespace ggufd::security {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(TokenHashTest, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("")));
  EXPECT_FALSE(IsSha256Hex("abc"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
}

TEST(TokenHashTest, NewTokensAreRandomHex) {
  auto a = NewToken();
  auto b = NewToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(IsSha256Hex(*a));
  EXPECT_NE(*a, *b);
}

TEST(TokenHashTest, BearerHeaders) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(BearerToken("abc"), std::nullopt);
}

TEST(PrincipalTableTest, ParsesTokensCertificatesAndComments) {
  const std::string alice = Sha256Hex("alice");
  std::string upper = Sha256Hex("ops");
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto table = PrincipalTable::Parse(
      "# principals\n\n" + alice + " inference alice   # web\n" + upper +
      "\tadmin\tops\r\ncert:spiffe://cluster/ns/a/sa/web inference web\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->tokens(), 2u);
  EXPECT_EQ(table->certificates(), 1u);
  const Principal* a = table->FindTokenHash(alice);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "alice");
  EXPECT_EQ(a->role, Role::kInference);
  const Principal* ops = table->FindTokenHash(Sha256Hex("ops"));
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->role, Role::kAdmin);
  const Principal* web = table->FindCertificate("spiffe://cluster/ns/a/sa/web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "web");
  EXPECT_EQ(table->FindTokenHash(Sha256Hex("nobody")), nullptr);
  EXPECT_EQ(table->FindCertificate("spiffe://cluster/ns/a/sa/other"), nullptr);
}

TEST(PrincipalTableTest, RefusesMalformedLinesNamingThem) {
  const std::string h = Sha256Hex("t");
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {h + " admin", "line 1: expected"},
      {"\n" + h + " root ops", "line 2: unknown role"},
      {h + " admin ops extra", "expected"},
      {"my-secret-token admin ops", "SHA-256"},
      {h + " admin ops\n" + h + " inference again", "listed twice"},
      {"cert: admin ops", "needs an identity"},
  };
  for (const Case& c : cases) {
    auto table = PrincipalTable::Parse(c.text);
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_THAT(std::string(table.status().message()), HasSubstr(c.message));
    // A token pasted in the clear is never echoed.
    EXPECT_THAT(std::string(table.status().message()),
                Not(HasSubstr("my-secret-token")));
  }
}

TEST(ListenAddressTest, HostAndPort) {
  EXPECT_EQ(ListenHost("127.0.0.1:50051"), "127.0.0.1");
  EXPECT_EQ(ListenHost("[::1]:50051"), "::1");
  EXPECT_EQ(ListenHost("[::1]"), "::1");
  EXPECT_EQ(ListenHost(":50051"), "");
  EXPECT_EQ(ListenPort("127.0.0.1:50051"), 50051);
  EXPECT_EQ(ListenPort("[::1]:8081"), 8081);
  EXPECT_EQ(ListenPort("127.0.0.1:0"), 0);
  EXPECT_EQ(ListenPort("[::1]"), 0);
  EXPECT_EQ(ListenPort("127.0.0.1:5x"), 0);
  EXPECT_EQ(ListenPort("unix:/tmp/ggufd.sock"), 0);
}

TEST(ListenAddressTest, LoopbackOrNot) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackListen("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackListen("localhost:50051"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:50051"));
  EXPECT_TRUE(IsLoopbackListen("unix:/run/ggufd.sock"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackListen("[::]:50051"));
  EXPECT_FALSE(IsLoopbackListen(":50051"));
  EXPECT_FALSE(IsLoopbackListen("10.0.0.7:50051"));
  EXPECT_FALSE(IsLoopbackListen("ggufd.example:50051"));
}

TEST(SessionOwnersTest, TheFirstClaimOwnsAnIdPerRuntime) {
  SessionOwners owners;
  const absl::Time t0 = absl::Now();
  using Access = SessionOwners::Access;
  EXPECT_EQ(owners.Check("default", "s", "alice"), Access::kUnclaimed);
  EXPECT_EQ(owners.Claim("default", "s", "alice", t0), Access::kUnclaimed);
  EXPECT_EQ(owners.Check("default", "s", "alice"), Access::kOwner);
  EXPECT_EQ(owners.Check("default", "s", "bob"), Access::kOther);
  EXPECT_EQ(owners.Claim("default", "s", "bob", t0), Access::kOther);
  // The same id on another runtime is another session.
  EXPECT_EQ(owners.Claim("second", "s", "bob", t0), Access::kUnclaimed);

  // Entries are forgotten only when idle long enough and gone from the
  // runtime.
  const absl::Time later = t0 + absl::Hours(2);
  owners.Prune(later, absl::Hours(1),
               [](const std::string& runtime, const std::string&) {
                 return runtime == "default";  // still live there
               });
  EXPECT_EQ(owners.Check("default", "s", "alice"), Access::kOwner);
  EXPECT_EQ(owners.Check("second", "s", "bob"), Access::kUnclaimed);
  owners.Claim("default", "s", "alice", later);  // used again
  owners.Prune(later + absl::Minutes(30), absl::Hours(1),
               [](const std::string&, const std::string&) { return false; });
  EXPECT_EQ(owners.size(), 1u);
  EXPECT_TRUE(owners.PruneDue(later, absl::Minutes(1)));
  EXPECT_FALSE(owners.PruneDue(later + absl::Seconds(1), absl::Minutes(1)));
}

}  // namespace
}  // namespace ggufd::security
