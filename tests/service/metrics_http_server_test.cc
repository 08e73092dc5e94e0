// The /metrics endpoint of a real `ggufd serve` under hostile clients: idle
// connections, requests cut in the middle, headers trickled a byte at a time
// and more connections than the server keeps must never hold up a scrape
// (Prometheus gives up after its scrape timeout and marks the target down).
// Also the small HTTP surface itself: HEAD, unknown paths and methods,
// oversized and malformed requests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/ggufd_process.h"

namespace ggufd::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// A scrape must answer within this even while the attack is going on; a
// loopback scrape of this registry takes milliseconds, so this is generous.
constexpr auto kScrapeBound = std::chrono::seconds(2);

// A blocking TCP connection to 127.0.0.1:`port`, or -1.
int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n =
        send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Connections the test opened, closed when it ends.
class Sockets {
 public:
  ~Sockets() {
    for (int fd : fds_) close(fd);
  }
  int Add(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  const std::vector<int>& fds() const { return fds_; }

 private:
  std::vector<int> fds_;
};

struct HttpReply {
  bool complete = false;  // the server answered and closed in time
  int status = 0;
  std::string head;
  std::string body;
  Clock::duration elapsed{};
};

// Sends `request` on a new connection and reads until the server closes it
// or `limit` passes (then `complete` is false).
HttpReply Exchange(int port, const std::string& request,
                   Clock::duration limit = kScrapeBound) {
  HttpReply reply;
  const Clock::time_point start = Clock::now();
  const Clock::time_point until = start + limit;
  const int fd = ConnectTo(port);
  if (fd < 0 || !SendAll(fd, request)) {
    if (fd >= 0) close(fd);
    return reply;
  }
  std::string data;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) break;
    if (n == 0) {
      reply.complete = true;
      break;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  reply.elapsed = Clock::now() - start;
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) {
    reply.complete = false;
    return reply;
  }
  reply.head = data.substr(0, end);
  reply.body = data.substr(end + 4);
  if (reply.head.rfind("HTTP/1.", 0) == 0 && reply.head.size() > 12) {
    reply.status = std::stoi(reply.head.substr(9, 3));
  }
  return reply;
}

const char kScrape[] =
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Whether the server has closed `fd` within `limit` (reads to EOF).
bool ClosedByServer(int fd, Clock::duration limit) {
  const Clock::time_point until = Clock::now() + limit;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buffer[1024];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return true;  // EOF, or a reset
  }
  return false;
}

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = GgufdProcess::Start({});
    ASSERT_NE(server_, nullptr);
    port_ = server_->metrics_port();
    ASSERT_GT(port_, 0);
  }
  std::unique_ptr<GgufdProcess> server_;
  int port_ = 0;
};

TEST_F(MetricsHttpServerTest, ScrapeAnswersPastIdleStalledAndTricklingClients) {
  Sockets sockets;
  // Connected and silent.
  for (int i = 0; i < 64; ++i) ASSERT_GE(sockets.Add(ConnectTo(port_)), 0);
  // Half a request, then nothing.
  for (int i = 0; i < 8; ++i) {
    const int fd = sockets.Add(ConnectTo(port_));
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  // A header that never ends, one byte every 100 ms (slowloris): per-read
  // timeouts never fire on these.
  std::atomic<bool> stop{false};
  std::vector<std::thread> tricklers;
  for (int i = 0; i < 8; ++i) {
    const int fd = sockets.Add(ConnectTo(port_));
    ASSERT_GE(fd, 0);
    tricklers.emplace_back([fd, &stop] {
      if (!SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: ")) return;
      while (!stop.load()) {
        if (!SendAll(fd, "a")) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  // Let the server accept them all before scraping.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 5; ++i) {
    const HttpReply reply = Exchange(port_, kScrape);
    EXPECT_TRUE(reply.complete) << "scrape " << i << " got no answer within "
                                << Seconds(kScrapeBound) << " s";
    EXPECT_EQ(reply.status, 200);
    EXPECT_THAT(reply.body, HasSubstr("ggufd_requests_total"));
    EXPECT_LT(reply.elapsed, kScrapeBound);
  }
  stop = true;
  for (auto& t : tricklers) t.join();
}

TEST_F(MetricsHttpServerTest, MoreConnectionsThanTheServerKeepsCannotLockOut) {
  // Past the server's connection cap the oldest connections are dropped,
  // so a flood of idle sockets costs descriptors only up to the cap and a
  // new scrape still gets in.
  Sockets sockets;
  for (int i = 0; i < 600; ++i) ASSERT_GE(sockets.Add(ConnectTo(port_)), 0);
  const HttpReply reply = Exchange(port_, kScrape);
  EXPECT_TRUE(reply.complete);
  EXPECT_EQ(reply.status, 200);
  EXPECT_LT(reply.elapsed, kScrapeBound);
  EXPECT_TRUE(ClosedByServer(sockets.fds().front(), std::chrono::seconds(2)))
      << "the oldest idle connection is still held";
}

TEST_F(MetricsHttpServerTest, StalledRequestsAreClosedAfterTheHeaderTimeout) {
  Sockets sockets;
  const int idle = sockets.Add(ConnectTo(port_));
  const int half = sockets.Add(ConnectTo(port_));
  ASSERT_GE(idle, 0);
  ASSERT_GE(half, 0);
  ASSERT_TRUE(SendAll(half, "GET /metrics HTTP/1.1\r\n"));
  // The server's request timeout is 5 s; allow for a slow (sanitized) run.
  EXPECT_TRUE(ClosedByServer(idle, std::chrono::seconds(15)));
  EXPECT_TRUE(ClosedByServer(half, std::chrono::seconds(5)));
}

TEST_F(MetricsHttpServerTest, AnswersTheHttpItIsAskedAndRefusesTheRest) {
  const HttpReply get = Exchange(port_, kScrape);
  ASSERT_TRUE(get.complete);
  EXPECT_EQ(get.status, 200);
  EXPECT_THAT(get.head, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(
      get.head,
      HasSubstr("Content-Length: " + std::to_string(get.body.size()) + "\r\n"));

  // A query string is ignored; HTTP/1.0 and bare LF line ends are served.
  EXPECT_EQ(Exchange(port_, "GET /metrics?x=1 HTTP/1.0\n\n").status, 200);

  const HttpReply head =
      Exchange(port_, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(head.complete);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_THAT(head.head, HasSubstr("Content-Length: "));

  EXPECT_EQ(Exchange(port_, "GET / HTTP/1.1\r\n\r\n").status, 404);
  const HttpReply post =
      Exchange(port_, "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
  EXPECT_EQ(post.status, 405);
  EXPECT_THAT(post.head, HasSubstr("Allow: GET, HEAD"));
  EXPECT_EQ(Exchange(port_, "hello\r\n\r\n").status, 400);
  const HttpReply huge = Exchange(
      port_, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a'));
  EXPECT_EQ(huge.status, 431);

  // Still serving after all that.
  EXPECT_EQ(Exchange(port_, kScrape).status, 200);
}

}  // namespace
}  // namespace ggufd::testing
