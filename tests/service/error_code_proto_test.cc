// proto/ggufd/v1/error_code.proto is the list clients build their error
// tables from; runtime/error_code.h is what the server sends. This test keeps
// the two equal, both ways, and checks the ErrorInfo the server builds names
// each code the way the enum does.
#include <string>
#include <string_view>

#include "ggufd/v1/error_code.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "runtime/error_code.h"
#include "service/status_mapping.h"

namespace ggufd {
namespace {

constexpr std::string_view kPrefix = "ERROR_CODE_";

// Runtime codes are dense from 0; the first number without a name ends them.
int RuntimeCodeCount() {
  int n = 0;
  while (ErrorCodeName(static_cast<ErrorCode>(n)) != "UNKNOWN") ++n;
  return n;
}

const google::protobuf::EnumDescriptor& ProtoEnum() {
  return *ggufd::v1::ErrorCode_descriptor();
}

TEST(ErrorCodeProtoTest, EveryRuntimeCodeIsInTheProto) {
  const int count = RuntimeCodeCount();
  ASSERT_GT(count, 24);  // the header's codes up to kLimitExceeded at least
  for (int i = 0; i < count; ++i) {
    const std::string_view name = ErrorCodeName(static_cast<ErrorCode>(i));
    const auto* value = ProtoEnum().FindValueByNumber(i);
    ASSERT_NE(value, nullptr) << "runtime code " << i << " " << name
                              << " missing from error_code.proto";
    EXPECT_EQ(value->name(), std::string(kPrefix) + std::string(name));
  }
}

TEST(ErrorCodeProtoTest, EveryProtoValueIsARuntimeCode) {
  const auto& e = ProtoEnum();
  EXPECT_EQ(e.value_count(), RuntimeCodeCount());
  for (int i = 0; i < e.value_count(); ++i) {
    const auto* value = e.value(i);
    const std::string_view full = value->name();
    ASSERT_TRUE(full.starts_with(kPrefix)) << full;
    EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(value->number())),
              full.substr(kPrefix.size()))
        << "proto value " << full << " = " << value->number();
  }
}

// The wire format clients decode: ErrorInfo reason = the name after the
// prefix, metadata "error_code" = the number.
TEST(ErrorCodeProtoTest, ErrorInfoMatchesTheEnum) {
  const auto& e = ProtoEnum();
  for (int i = 0; i < e.value_count(); ++i) {
    const auto* value = e.value(i);
    if (value->number() == 0) continue;  // OK is never an error
    const grpc::Status status = ToGrpcStatus(
        MakeError(static_cast<ErrorCode>(value->number()), "boom"));
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(status.error_details()));
    google::rpc::ErrorInfo info;
    bool found = false;
    for (const auto& any : details.details()) {
      if (any.Is<google::rpc::ErrorInfo>()) found = any.UnpackTo(&info);
    }
    ASSERT_TRUE(found) << value->name();
    EXPECT_EQ(info.domain(), "ggufd");
    EXPECT_EQ("ERROR_CODE_" + info.reason(), value->name());
    EXPECT_EQ(info.metadata().at("error_code"),
              std::to_string(value->number()));
  }
}

}  // namespace
}  // namespace ggufd
