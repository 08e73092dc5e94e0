#include "runtime/session/session_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace ggufd::session {
namespace {

namespace fs = std::filesystem;

model::ModelConfig Config(int64_t n_ctx = 64) {
  model::ModelConfig c;
  c.n_layer = 3;
  c.n_kv_head = 2;
  c.head_dim = 4;
  c.n_ctx = n_ctx;
  c.kv_type = model::KvType::kF16;
  return c;
}

ModelIdentity Identity() {
  return {.fingerprint = 0x1234,
          .file_bytes = 1000,
          .n_layer = 3,
          .kv_dim = 8,
          .n_vocab = 100,
          .kv_type = 0,
          .architecture = "llama",
          .name = "test"};
}

class SessionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("session_file_test_" + std::to_string(getpid())))
                .string();
    session_.id = "s1";
    session_.history = {1, 2, 3, 4, 5, 6};
    session_.turns = 2;
    session_.created_unix_ms = 42;
    session_.kv = std::make_unique<model::KvCache>(Config());
    for (int layer = 0; layer < 3; ++layer) {
      for (int pos = 0; pos < 5; ++pos) {
        for (size_t i = 0; i < session_.kv->row_bytes(); ++i) {
          session_.kv->k_row(layer, pos)[i] = static_cast<uint8_t>(i + pos);
          session_.kv->v_row(layer, pos)[i] =
              static_cast<uint8_t>(layer * 7 + i);
        }
      }
    }
    session_.kv->set_size(5);
    ASSERT_TRUE(WriteSessionFile(path_, Identity(), session_).ok());
  }
  void TearDown() override { fs::remove(path_); }

  std::string path_;
  Session session_;
};

TEST_F(SessionFileTest, RoundTripsHistoryAndCache) {
  auto read = ReadSessionFile(path_, Identity(), Config(128));
  ASSERT_TRUE(read.ok()) << read.status();
  const Session& s = **read;
  EXPECT_EQ(s.id, "s1");
  EXPECT_EQ(s.history, session_.history);
  EXPECT_EQ(s.turns, 2);
  EXPECT_EQ(s.created_unix_ms, 42);
  ASSERT_NE(s.kv, nullptr);
  ASSERT_EQ(s.kv->size(), 5);
  for (int layer = 0; layer < 3; ++layer) {
    for (int pos = 0; pos < 5; ++pos) {
      EXPECT_EQ(0, std::memcmp(s.kv->k_row(layer, pos),
                               session_.kv->k_row(layer, pos),
                               session_.kv->row_bytes()));
      EXPECT_EQ(0, std::memcmp(s.kv->v_row(layer, pos),
                               session_.kv->v_row(layer, pos),
                               session_.kv->row_bytes()));
    }
  }
}

TEST_F(SessionFileTest, EveryFlippedByteIsCaught) {
  const uintmax_t size = fs::file_size(path_);
  std::ifstream in(path_, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  for (uintmax_t at = 0; at < size; ++at) {
    std::string bad = good;
    bad[at] ^= 0x10;
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bad;
    EXPECT_FALSE(ReadSessionFile(path_, Identity(), Config()).ok())
        << "byte " << at;
  }
  for (uintmax_t cut = 0; cut < size; cut += 7) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        << good.substr(0, cut);
    EXPECT_FALSE(ReadSessionFile(path_, Identity(), Config()).ok())
        << "cut at " << cut;
  }
}

TEST_F(SessionFileTest, RefusesAnotherModelOrAShorterContext) {
  ModelIdentity other = Identity();
  other.fingerprint = 0x9999;
  auto read = ReadSessionFile(path_, other, Config());
  EXPECT_TRUE(absl::IsFailedPrecondition(read.status())) << read.status();
  read = ReadSessionFile(path_, Identity(), Config(6));
  EXPECT_TRUE(absl::IsFailedPrecondition(read.status())) << read.status();
  read = ReadSessionFile(path_ + ".missing", Identity(), Config());
  EXPECT_TRUE(absl::IsNotFound(read.status())) << read.status();
}

TEST_F(SessionFileTest, SavesAnEvictedSessionAsItsHistoryAlone) {
  session_.kv.reset();
  ASSERT_TRUE(WriteSessionFile(path_, Identity(), session_).ok());
  auto read = ReadSessionFile(path_, Identity(), Config());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)->kv, nullptr);
  EXPECT_EQ((*read)->history, session_.history);
  EXPECT_EQ((*read)->lost, SessionCache::kEvicted);
}

}  // namespace
}  // namespace ggufd::session
