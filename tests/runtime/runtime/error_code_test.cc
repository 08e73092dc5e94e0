// The payloads a runtime status carries: its ErrorCode and the request field
// at fault, which the service reads instead of the message.
#include "runtime/error_code.h"

#include "gtest/gtest.h"

namespace ggufd {
namespace {

TEST(ErrorCodeTest, AFieldTagKeepsTheCodeAndTheMessage) {
  const absl::Status tagged =
      WithField(MakeError(ErrorCode::kInvalidArgument, "stop_token_ids[0] = 9"),
                "stopping");
  EXPECT_EQ(FieldOf(tagged), "stopping");
  EXPECT_EQ(tagged.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tagged.message(), "stop_token_ids[0] = 9");
  EXPECT_EQ(GetErrorCode(tagged), ErrorCode::kInvalidArgument);
}

TEST(ErrorCodeTest, TheFirstTagWins) {
  const absl::Status inner =
      WithField(MakeError(ErrorCode::kInvalidArgument, "x"), "chat.template");
  EXPECT_EQ(FieldOf(WithField(inner, "sampling")), "chat.template");
}

TEST(ErrorCodeTest, UntaggedAndOkHaveNoField) {
  EXPECT_EQ(FieldOf(MakeError(ErrorCode::kInvalidArgument, "x")), std::nullopt);
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("x")), std::nullopt);
  const absl::Status ok = WithField(absl::OkStatus(), "sampling");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(FieldOf(ok), std::nullopt);
}

TEST(ErrorCodeTest, AnErrorCodeAddedAfterTheTagKeepsIt) {
  // WithErrorCode leaves a coded status, and so its tag, as it is.
  const absl::Status tagged =
      WithField(MakeError(ErrorCode::kLimitExceeded, "x"), "stopping");
  const absl::Status coded = WithErrorCode(tagged, ErrorCode::kInvalidArgument);
  EXPECT_EQ(GetErrorCode(coded), ErrorCode::kLimitExceeded);
  EXPECT_EQ(FieldOf(coded), "stopping");
}

}  // namespace
}  // namespace ggufd
