#include "service/status_mapping.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace ggufd {
namespace {

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status out;
  EXPECT_TRUE(out.ParseFromString(status.error_details()));
  return out;
}

template <typename T>
bool Find(const google::rpc::Status& status, T& out) {
  for (const auto& any : status.details()) {
    if (any.Is<T>()) return any.UnpackTo(&out);
  }
  return false;
}

TEST(StatusMappingTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

struct Case {
  ErrorCode code;
  grpc::StatusCode grpc;
  const char* reason;
  bool retry;
};

class CodeTest : public testing::TestWithParam<Case> {};

TEST_P(CodeTest, MapsCodeReasonAndRetry) {
  const Case& c = GetParam();
  const grpc::Status status = ToGrpcStatus(MakeError(c.code, "boom"));
  EXPECT_EQ(status.error_code(), c.grpc);
  EXPECT_EQ(status.error_message(), "boom");
  const google::rpc::Status details = Details(status);
  EXPECT_EQ(details.code(), static_cast<int>(c.grpc));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Find(details, info));
  EXPECT_EQ(info.domain(), "ggufd");
  EXPECT_EQ(info.reason(), c.reason);
  EXPECT_EQ(info.metadata().at("error_code"),
            std::to_string(static_cast<int>(c.code)));
  google::rpc::RetryInfo retry;
  EXPECT_EQ(Find(details, retry), c.retry);
}

INSTANTIATE_TEST_SUITE_P(
    AllDocumented, CodeTest,
    testing::Values(
        Case{ErrorCode::kInvalidArgument, grpc::INVALID_ARGUMENT,
             "INVALID_ARGUMENT", false},
        Case{ErrorCode::kModelNotFound, grpc::NOT_FOUND, "MODEL_NOT_FOUND",
             false},
        Case{ErrorCode::kRuntimeNotFound, grpc::NOT_FOUND, "RUNTIME_NOT_FOUND",
             false},
        Case{ErrorCode::kNoModel, grpc::FAILED_PRECONDITION, "NO_MODEL", false},
        Case{ErrorCode::kContextOverflow, grpc::OUT_OF_RANGE,
             "CONTEXT_OVERFLOW", false},
        Case{ErrorCode::kCancelled, grpc::CANCELLED, "CANCELLED", false},
        Case{ErrorCode::kDeadlineExceeded, grpc::DEADLINE_EXCEEDED,
             "DEADLINE_EXCEEDED", false},
        Case{ErrorCode::kQueueFull, grpc::RESOURCE_EXHAUSTED, "QUEUE_FULL",
             true},
        Case{ErrorCode::kPermissionDenied, grpc::PERMISSION_DENIED,
             "PERMISSION_DENIED", false},
        Case{ErrorCode::kGenerationFailed, grpc::FAILED_PRECONDITION,
             "GENERATION_FAILED", false},
        Case{ErrorCode::kUnavailable, grpc::UNAVAILABLE, "UNAVAILABLE", true},
        Case{ErrorCode::kShuttingDown, grpc::UNAVAILABLE, "SHUTTING_DOWN",
             true}),
    [](const testing::TestParamInfo<Case>& info) {
      return std::string(info.param.reason);
    });

TEST(StatusMappingTest, FieldViolationsBecomeBadRequest) {
  const absl::Status status = WithFieldViolation(
      InvalidField("sampling.top_k", "must be >= 0"), "output", "bad");
  const grpc::Status mapped = ToGrpcStatus(status);
  EXPECT_EQ(mapped.error_code(), grpc::INVALID_ARGUMENT);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(Find(Details(mapped), bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "sampling.top_k");
  EXPECT_EQ(bad.field_violations(0).description(), "must be >= 0");
  EXPECT_EQ(bad.field_violations(1).field(), "output");
}

TEST(StatusMappingTest, TheRuntimesFieldTagBecomesAViolation) {
  const absl::Status tagged = WithField(
      MakeError(ErrorCode::kInvalidArgument, "stop_token_ids[0] = 900 is out"),
      "stopping");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(
      Find(Details(ToGrpcStatus(WithTaggedFieldViolation(tagged))), bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "stopping");
  EXPECT_EQ(bad.field_violations(0).description(),
            "stop_token_ids[0] = 900 is out");

  // Untagged, nothing is named (and the status is unchanged).
  const absl::Status plain = MakeError(ErrorCode::kInvalidArgument, "x");
  EXPECT_EQ(WithTaggedFieldViolation(plain), plain);
  google::rpc::BadRequest none;
  EXPECT_FALSE(Find(Details(ToGrpcStatus(plain)), none));
}

TEST(StatusMappingTest, ExplicitRetryDelayWins) {
  const grpc::Status mapped = ToGrpcStatus(WithRetryDelay(
      MakeError(ErrorCode::kQueueFull, "full"), absl::Milliseconds(1500)));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(Find(Details(mapped), retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
}

TEST(StatusMappingTest, PlainAbslStatusGetsADerivedCode) {
  const grpc::Status mapped = ToGrpcStatus(absl::NotFoundError("gone"));
  EXPECT_EQ(mapped.error_code(), grpc::NOT_FOUND);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Find(Details(mapped), info));
  EXPECT_FALSE(info.reason().empty());
}

TEST(StatusMappingTest, LongMessagesAreCutAtACharacterBoundary) {
  std::string huge;
  for (int i = 0; i < 1000; ++i) huge += "\xC3\xA9";  // é
  const grpc::Status mapped =
      ToGrpcStatus(MakeError(ErrorCode::kInvalidArgument, huge));
  EXPECT_LE(mapped.error_message().size(), kMaxStatusMessageBytes);
  const std::string& m = mapped.error_message();
  EXPECT_EQ(m.substr(m.size() - 3), "...");
  // The bytes before "..." are whole characters.
  EXPECT_EQ((m.size() - 3) % 2, 0u);
  EXPECT_EQ(TruncateMessage("short", 10), "short");
}

}  // namespace
}  // namespace ggufd
