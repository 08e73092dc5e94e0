#include "service/metrics/metrics_http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/common/str_cat.h"

namespace ggufd::metrics {
namespace {

using Clock = std::chrono::steady_clock;

// A scrape request is one short head ("GET /metrics HTTP/1.1" and a few
// headers); anything longer is refused.
constexpr size_t kMaxRequestHead = 8192;
// Connections kept at once; past this the oldest is closed. Bounds the
// descriptors and memory a flood of sockets can take from the process.
constexpr size_t kMaxConnections = 512;
// How long a client may take to send its request head after connecting,
// and to read the answer.
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
// After the answer, the server half-closes and reads what the client still
// sends for up to this long before closing: closing a socket with unread
// input makes the kernel send a reset, which can destroy the answer before
// the client has read it.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
// Accepts and reads per connection in one poll round, so neither a connect
// flood nor one fast sender can starve the other connections.
constexpr int kAcceptsPerRound = 64;
constexpr int kReadsPerRound = 16;

enum class Phase { kReading, kWriting, kLingering };

struct Connection {
  int fd = -1;
  Phase phase = Phase::kReading;
  Clock::time_point deadline;
  std::string in;   // the request head as it arrives
  std::string out;  // the answer
  size_t sent = 0;
};

// The end of the request head (after its empty line), or npos. Bare LF line
// ends are accepted, as RFC 9112 allows.
size_t HeadEnd(const std::string& in) {
  for (size_t i = in.find('\n'); i != std::string::npos;
       i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      return i + 3;
    }
  }
  return std::string::npos;
}

std::string Answer(int code, std::string_view reason,
                   std::string_view content_type, const std::string& body,
                   bool with_body, std::string_view extra_header = {}) {
  std::string out =
      StrCat("HTTP/1.1 ", code, " ", reason, "\r\nContent-Type: ", content_type,
             "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n",
             extra_header, "\r\n");
  if (with_body) out += body;
  return out;
}

std::string Refusal(int code, std::string_view reason,
                    std::string_view extra_header = {}) {
  return Answer(code, reason, "text/plain; charset=utf-8", StrCat(reason, "\n"),
                true, extra_header);
}

// The whole answer to the request head `head`.
std::string Respond(std::string_view head, Registry& registry) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t space1 = line.find(' ');
  const size_t space2 = line.rfind(' ');
  if (space1 == std::string_view::npos || space2 == space1) {
    return Refusal(400, "Bad Request");
  }
  const std::string_view method = line.substr(0, space1);
  const std::string_view target = line.substr(space1 + 1, space2 - space1 - 1);
  const std::string_view version = line.substr(space2 + 1);
  if (version.substr(0, 7) != "HTTP/1." || target.empty() ||
      target.find(' ') != std::string_view::npos) {
    return Refusal(400, "Bad Request");
  }
  if (method != "GET" && method != "HEAD") {
    return Refusal(405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
  }
  if (target.substr(0, target.find('?')) != "/metrics") {
    return Refusal(404, "Not Found");
  }
  return Answer(200, "OK", "text/plain; version=0.0.4", registry.Render(),
                method == "GET");
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, Registry& registry) {
  std::unique_ptr<MetricsHttpServer> self(new MetricsHttpServer(registry));
  const std::string where = StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int error =
          getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      error != 0) {
    return absl::UnavailableError(StrCat("cannot listen for metrics on ", where,
                                         ": ", gai_strerror(error)));
  }
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr && self->listen_fd_ < 0;
       a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      last_errno = errno;
      close(fd);
      continue;
    }
    self->listen_fd_ = fd;
  }
  freeaddrinfo(found);
  if (self->listen_fd_ < 0) {
    return absl::UnavailableError(StrCat("cannot listen for metrics on ", where,
                                         ": ", strerror(last_errno)));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(self->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  self->port_ = ntohs(bound.ss_family == AF_INET6
                          ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  self->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (self->wake_fd_ < 0) {
    close(self->listen_fd_);
    return absl::UnavailableError(
        StrCat("metrics server: eventfd: ", strerror(errno)));
  }
  self->thread_ = std::thread([s = self.get()] { s->Serve(); });
  return self;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    // An eventfd write of 1 cannot fail short of overflowing the counter.
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void MetricsHttpServer::Serve() {
  // Keyed by accept order, so begin() is the oldest connection.
  std::map<uint64_t, Connection> connections;
  uint64_t next_key = 0;
  Clock::time_point accept_paused_until;
  std::vector<pollfd> polled;
  std::vector<uint64_t> keys;  // the connection of each polled entry

  const auto drop = [&](std::map<uint64_t, Connection>::iterator it) {
    close(it->second.fd);
    return connections.erase(it);
  };
  // Sends what it can of the answer; once all is sent, half-closes and
  // starts lingering. False when the connection is finished with.
  const auto write_some = [](Connection& c, Clock::time_point now) {
    while (c.sent < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                             MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n <= 0) return false;
      c.sent += static_cast<size_t>(n);
    }
    shutdown(c.fd, SHUT_WR);
    c.phase = Phase::kLingering;
    c.deadline = now + kLingerTimeout;
    c.out = std::string();
    c.in = std::string();
    return true;
  };
  // Reads what has arrived; answers once the head is complete. False when
  // the connection is finished with.
  const auto read_some = [&](Connection& c, Clock::time_point now) {
    char buffer[4096];
    bool eof = false;
    for (int reads = 0; reads < kReadsPerRound; ++reads) {
      const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
      if (n < 0 &&
          (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;  // poll says when there is more
      }
      if (n <= 0) {
        eof = true;
        break;
      }
      // Lingering: discard. Reading: keep it, and stop once the head is
      // complete (what follows is drained while lingering) or too long.
      if (c.phase == Phase::kReading) {
        c.in.append(buffer, static_cast<size_t>(n));
        if (HeadEnd(c.in) != std::string::npos ||
            c.in.size() > kMaxRequestHead) {
          break;
        }
      }
    }
    if (c.phase == Phase::kLingering) return !eof;
    const size_t end = HeadEnd(c.in);
    if (end != std::string::npos && end <= kMaxRequestHead) {
      c.out = Respond(std::string_view(c.in).substr(0, end), registry_);
    } else if (c.in.size() > kMaxRequestHead) {
      c.out = Refusal(431, "Request Header Fields Too Large");
    } else {
      return !eof;  // wait for the rest, unless the client gave up
    }
    c.phase = Phase::kWriting;
    c.deadline = now + kWriteTimeout;
    return write_some(c, now);
  };

  for (;;) {
    Clock::time_point now = Clock::now();
    polled.clear();
    keys.clear();
    polled.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = now >= accept_paused_until;
    if (accepting) polled.push_back({listen_fd_, POLLIN, 0});
    const size_t first_connection = polled.size();
    Clock::time_point wake_at =
        accepting ? now + std::chrono::hours(1) : accept_paused_until;
    for (const auto& [key, c] : connections) {
      polled.push_back(
          {c.fd,
           static_cast<short>(c.phase == Phase::kWriting ? POLLOUT : POLLIN),
           0});
      keys.push_back(key);
      wake_at = std::min(wake_at, c.deadline);
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
        std::max(wake_at - now, Clock::duration::zero()));
    const int ready =
        poll(polled.data(), polled.size(), static_cast<int>(wait.count()));
    if (ready < 0) {
      // EINTR, or ENOMEM: try again (after a pause, not to spin).
      if (errno != EINTR) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    if (polled[0].revents != 0) break;  // the destructor asks to stop
    now = Clock::now();

    for (size_t i = first_connection; i < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      const auto it = connections.find(keys[i - first_connection]);
      Connection& c = it->second;
      const bool open =
          c.phase == Phase::kWriting ? write_some(c, now) : read_some(c, now);
      if (!open) drop(it);
    }

    for (auto it = connections.begin(); it != connections.end();) {
      it = it->second.deadline <= now ? drop(it) : std::next(it);
    }

    if (accepting && polled[1].revents != 0) {
      for (int n = 0; n < kAcceptsPerRound; ++n) {
        const int fd =
            accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
              errno == ENOMEM) {
            // Out of descriptors or memory: give up our oldest connection
            // for the new one, or, holding none, stop polling the listening
            // socket for a moment instead of spinning on it.
            if (!connections.empty()) {
              drop(connections.begin());
              continue;
            }
            accept_paused_until = now + std::chrono::milliseconds(100);
          }
          break;  // EAGAIN: none left
        }
        if (connections.size() >= kMaxConnections) drop(connections.begin());
        Connection& c = connections[next_key++];
        c.fd = fd;
        c.deadline = now + kRequestTimeout;
      }
    }
  }
  for (auto& [key, c] : connections) close(c.fd);
}

}  // namespace ggufd::metrics
