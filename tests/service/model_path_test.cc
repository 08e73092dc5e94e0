#include "service/model_path.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "gtest/gtest.h"
#include "runtime/error_code.h"

namespace ggufd {
namespace {

namespace fs = std::filesystem;

class ModelPathTest : public testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("ggufd_model_path_" + std::to_string(::getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "models" / "sub");
    fs::create_directories(base_ / "models2");
    Touch(base_ / "models" / "a.gguf");
    Touch(base_ / "models" / "sub" / "b.gguf");
    Touch(base_ / "models2" / "c.gguf");
    Touch(base_ / "secret.gguf");
    fs::create_symlink(base_ / "secret.gguf", base_ / "models" / "escape.gguf");
    fs::create_symlink(base_ / "models" / "a.gguf",
                       base_ / "models" / "inside.gguf");
    fs::create_directory_symlink(base_, base_ / "models" / "up");
    auto dir = ModelDirectory::Open((base_ / "models").string());
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
  }
  void TearDown() override { fs::remove_all(base_); }

  static void Touch(const fs::path& p) { std::ofstream(p) << "x"; }

  ErrorCode CodeOf(const std::string& path) {
    return GetErrorCode(dir_->Resolve(path).status());
  }

  fs::path base_;
  std::optional<ModelDirectory> dir_;
};

TEST_F(ModelPathTest, ResolvesFilesInside) {
  EXPECT_EQ(*dir_->Resolve("a.gguf"),
            fs::canonical(base_ / "models" / "a.gguf").string());
  EXPECT_EQ(*dir_->Resolve("sub/b.gguf"),
            fs::canonical(base_ / "models" / "sub" / "b.gguf").string());
  EXPECT_TRUE(dir_->Resolve("./sub/b.gguf").ok());
}

TEST_F(ModelPathTest, AcceptsAbsolutePathsInsideAndInnerSymlinks) {
  EXPECT_TRUE(dir_->Resolve((base_ / "models" / "a.gguf").string()).ok());
  EXPECT_EQ(*dir_->Resolve("inside.gguf"),
            fs::canonical(base_ / "models" / "a.gguf").string());
}

TEST_F(ModelPathTest, RefusesEscapes) {
  EXPECT_EQ(CodeOf("../secret.gguf"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf("sub/../../secret.gguf"), ErrorCode::kPermissionDenied);
  // Any ".." is refused, even one that would stay inside.
  EXPECT_EQ(CodeOf("sub/../a.gguf"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf((base_ / "secret.gguf").string()),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf("/etc/passwd"), ErrorCode::kPermissionDenied);
  // "/…/models2" shares a prefix with "/…/models" but is outside it.
  EXPECT_EQ(CodeOf((base_ / "models2" / "c.gguf").string()),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf("escape.gguf"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(CodeOf("up/secret.gguf"), ErrorCode::kPermissionDenied);
  EXPECT_EQ(dir_->Resolve("../secret.gguf").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ModelPathTest, ReportsMissingAndInvalidPaths) {
  EXPECT_EQ(CodeOf("missing.gguf"), ErrorCode::kModelNotFound);
  EXPECT_EQ(dir_->Resolve("missing.gguf").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CodeOf("sub"), ErrorCode::kModelNotFound);
  EXPECT_EQ(CodeOf(""), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(std::string("a\0b", 3)), ErrorCode::kInvalidArgument);
}

TEST(ModelDirectoryTest, MissingRootIsAnError) {
  EXPECT_FALSE(ModelDirectory::Open("/nonexistent/ggufd/models").ok());
}

}  // namespace
}  // namespace ggufd
