#include "runtime/sampling/stop_matcher.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ggufd::sampling {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

StopMatcher MustCreate(std::vector<std::string> stops) {
  absl::StatusOr<StopMatcher> matcher = StopMatcher::Create(std::move(stops));
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return std::move(matcher).value();
}

struct FeedResult {
  std::vector<std::string> released;  // per Push, then the Flush
  std::string all;                    // everything released
  bool stopped = false;
  int matched = -1;
};

// Feeds `chunks`, flushing at the end when no stop string matched.
FeedResult Feed(StopMatcher& matcher, const std::vector<std::string>& chunks) {
  FeedResult run;
  for (const std::string& chunk : chunks) {
    std::string out;
    run.stopped = matcher.Push(chunk, &out);
    run.released.push_back(out);
    run.all += out;
    if (run.stopped) break;
  }
  if (!run.stopped) {
    std::string out;
    matcher.Flush(&out);
    run.released.push_back(out);
    run.all += out;
  }
  run.matched = matcher.matched_index();
  return run;
}

TEST(StopMatcherTest, Table) {
  const struct {
    std::string name;
    std::vector<std::string> stops;
    std::vector<std::string> chunks;
    std::string expected_text;
    int expected_match;
  } cases[] = {
      {"no stops passes through", {}, {"Hello", " world"}, "Hello world", -1},
      {"whole stop in one chunk", {"</s>"}, {"Hi</s>more"}, "Hi", 0},
      {"split across chunks",
       {"</s>"},
       {"Hello <", "/", "s> tail"},
       "Hello ",
       0},
      {"false start is released", {"STOP"}, {"ST", "ART"}, "START", -1},
      {"partial at end is flushed", {"STOP"}, {"abc ST"}, "abc ST", -1},
      {"overlapping prefix", {"abab"}, {"aababab"}, "a", 0},
      {"overlapping prefix bytewise",
       {"abab"},
       {"a", "a", "b", "a", "b", "a", "b"},
       "a",
       0},
      {"self-overlap retry", {"aab"}, {"a", "a", "a", "b"}, "a", 0},
      {"first to complete wins", {"world", "lo w"}, {"hello world"}, "hel", 1},
      {"longest of those ending together",
       {"bc", "abc"},
       {"xab", "cd"},
       "x",
       1},
      {"multiple stops, later chunk",
       {"\n\n", "User:"},
       {"ok\nUs", "er: hi"},
       "ok\n",
       1},
      {"empty stop string ignored", {"", "x"}, {"abxc"}, "ab", 1},
      {"stop at the very start", {"###"}, {"#", "##", "text"}, "", 0},
  };
  for (const auto& c : cases) {
    StopMatcher matcher = MustCreate(c.stops);
    const FeedResult run = Feed(matcher, c.chunks);
    EXPECT_EQ(run.all, c.expected_text) << c.name;
    EXPECT_EQ(run.matched, c.expected_match) << c.name;
    EXPECT_EQ(run.stopped, c.expected_match >= 0) << c.name;
    if (c.expected_match >= 0) {
      EXPECT_EQ(matcher.matched_stop(), c.stops[c.expected_match]) << c.name;
    }
  }
}

TEST(StopMatcherTest, ReleasesAsSoonAsTextCannotStartAStop) {
  StopMatcher matcher = MustCreate({"</s>"});
  const FeedResult run = Feed(matcher, {"Hello", " <", "b>", "x</", "s"});
  EXPECT_THAT(run.released,
              ElementsAreArray({"Hello", " ", "<b>", "x", "", "</s"}));
  EXPECT_FALSE(run.stopped);
}

TEST(StopMatcherTest, StopSplitInsideAUtf8Character) {
  // "é" is C3 A9; the token boundary falls between its two bytes.
  StopMatcher matcher = MustCreate({"\xC3\xA9t\xC3\xA9"});
  const FeedResult run =
      Feed(matcher, {"caf\xC3", "\xA9", " \xC3", "\xA9t\xC3", "\xA9 fini"});
  EXPECT_EQ(run.all, "caf\xC3\xA9 ");
  EXPECT_EQ(run.matched, 0);
}

TEST(StopMatcherTest, HoldsIncompleteUtf8AtTheEnd) {
  StopMatcher matcher = MustCreate({});
  // "€" is E2 82 AC, split 2 + 1; "😀" is F0 9F 98 80, split 1 + 3.
  const FeedResult run =
      Feed(matcher, {"a\xE2\x82", "\xAC b\xF0", "\x9F\x98\x80", "\xE2"});
  EXPECT_THAT(run.released, ElementsAreArray({"a", "\xE2\x82\xAC b",
                                              "\xF0\x9F\x98\x80", "", "\xE2"}));
}

TEST(StopMatcherTest, InvalidBytesPassThrough) {
  StopMatcher matcher = MustCreate({});
  std::string out;
  EXPECT_FALSE(matcher.Push("x\x80\xFF", &out));
  EXPECT_EQ(out, "x\x80\xFF");
  EXPECT_EQ(matcher.held_bytes(), 0u);
}

TEST(StopMatcherTest, InputAfterAStopIsIgnoredUntilReset) {
  StopMatcher matcher = MustCreate({"END"});
  std::string out;
  EXPECT_TRUE(matcher.Push("abcEND", &out));
  EXPECT_TRUE(matcher.Push("more", &out));
  matcher.Flush(&out);
  EXPECT_EQ(out, "abc");
  matcher.Reset();
  EXPECT_FALSE(matcher.stopped());
  out.clear();
  EXPECT_FALSE(matcher.Push("xyz", &out));
  EXPECT_EQ(out, "xyz");
}

TEST(StopMatcherTest, HeldTextStaysBounded) {
  StopMatcher matcher = MustCreate({"abcdef"});
  std::string out;
  for (int i = 0; i < 1000; ++i) {
    matcher.Push("abcde", &out);  // never completes, "abcde" is held
    ASSERT_LE(matcher.held_bytes(), 5u);
  }
  EXPECT_FALSE(matcher.stopped());
}

// Any way of cutting the text into chunks gives the same released text and
// the same match as feeding it whole.
TEST(StopMatcherTest, ChunkingNeverChangesTheResult) {
  const std::vector<std::string> stops = {"abab", "ba", "b\xC3\xA9", "zz"};
  const std::vector<std::string> texts = {"aababab",
                                          "xxabxbaq",
                                          "a\xC3\xA9 b\xC3\xA9",
                                          "no match here \xE2\x82\xAC",
                                          "zabzzab",
                                          "ab"};
  std::mt19937 rng(99);
  for (const std::string& text : texts) {
    StopMatcher whole = MustCreate(stops);
    const FeedResult expected = Feed(whole, {text});
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::string> chunks;
      size_t pos = 0;
      while (pos < text.size()) {
        const size_t len = 1 + rng() % 4;
        chunks.push_back(text.substr(pos, len));
        pos += len;
      }
      StopMatcher matcher = MustCreate(stops);
      const FeedResult run = Feed(matcher, chunks);
      ASSERT_EQ(run.all, expected.all) << text;
      ASSERT_EQ(run.matched, expected.matched) << text;
    }
  }
}

TEST(StopMatcherTest, CreateRejectsHostileStops) {
  std::vector<std::string> many(StopMatcher::kMaxStopStrings + 1, "x");
  EXPECT_THAT(std::string(StopMatcher::Create(many).status().message()),
              HasSubstr("at most 64"));
  std::vector<std::string> long_one = {
      std::string(StopMatcher::kMaxStopLength + 1, 'y')};
  EXPECT_EQ(StopMatcher::Create(long_one).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ggufd::sampling
