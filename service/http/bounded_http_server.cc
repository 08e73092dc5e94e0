#include "service/http/bounded_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/common/str_cat.h"
#include "runtime/error_code.h"

namespace ggufd::http {
namespace {

// How long a connection waits for a free thread before it is refused, and
// how long a connection lingers after an answer that left its request body
// unread (or a refusal).
constexpr absl::Duration kMaxThreadWait = absl::Seconds(1);
constexpr absl::Duration kLinger = absl::Seconds(1);
constexpr absl::Duration kRefusalLinger = absl::Milliseconds(200);
// Idle connections look for a reason to close this often.
constexpr int kIdlePollMs = 50;
constexpr size_t kReadBuffer = 16 << 10;

thread_local int t_socket = -1;
// Set by the pool on the thread that runs a connection only to refuse it.
thread_local bool t_refusing = false;

int PollMs(absl::Time until) {
  const absl::Duration left = until - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Waits until `fd` has `events` (or an error) or `until` passes.
bool PollFor(int fd, short events, absl::Time until) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int n = poll(&p, 1, PollMs(until));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

void SendAll(int fd, std::string_view data, absl::Time until) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!PollFor(fd, POLLOUT, until)) return;
    } else {
      return;
    }
  }
}

// Half-closes and reads what the client still sends until it closes too or
// `linger` passes, then closes: closing with unread input sends a reset
// that can destroy the answer before the client has read it.
void CloseGracefully(int fd, absl::Duration linger) {
  shutdown(fd, SHUT_WR);
  const absl::Time until = absl::Now() + linger;
  char sink[4096];
  for (;;) {
    const ssize_t n = recv(fd, sink, sizeof(sink), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN || !PollFor(fd, POLLIN, until)) break;
    }
  }
  close(fd);
}

void AddressOf(const sockaddr_storage& addr, std::string& ip, int& port) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), host,
                  sizeof(host), service, sizeof(service),
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

// One connection's socket as cpp-httplib reads and writes it: buffered
// reads within the current request's byte budget and deadline, writes
// within the write timeout. The socket is non-blocking; waits are poll().
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int fd, absl::Duration write_timeout)
      : fd_(fd), write_timeout_(write_timeout) {}

  // A new request may read `budget` bytes until `deadline`.
  void BeginRequest(size_t budget, absl::Time deadline) {
    budget_ = budget;
    consumed_ = 0;
    deadline_ = deadline;
  }
  // The head was read: the body may add `bytes`.
  void AllowBody(size_t bytes) { budget_ = consumed_ + bytes; }
  bool buffered() const { return begin_ < end_; }
  // Whether the request's body was left unread (a refusal answered from
  // the head alone): the connection must not be reused.
  bool body_unread() const { return body_unread_; }
  void set_body_unread(bool unread) { body_unread_ = unread; }

  bool is_readable() const override {
    return buffered() || PollFor(fd_, POLLIN, deadline_);
  }
  bool is_writable() const override {
    return PollFor(fd_, POLLOUT, absl::Now() + write_timeout_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (consumed_ >= budget_) return -1;
    size = std::min(size, budget_ - consumed_);
    if (!buffered()) {
      begin_ = end_ = 0;
      for (;;) {
        const ssize_t n = recv(fd_, buffer_, sizeof(buffer_), 0);
        if (n > 0) {
          end_ = static_cast<size_t>(n);
          break;
        }
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EAGAIN || !PollFor(fd_, POLLIN, deadline_)) return -1;
      }
    }
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const absl::Time until = absl::Now() + write_timeout_;
    for (;;) {
      const ssize_t n = send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN || !PollFor(fd_, POLLOUT, until)) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      AddressOf(addr, ip, port);
    }
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      AddressOf(addr, ip, port);
    }
  }
  socket_t socket() const override { return fd_; }

 private:
  const int fd_;
  const absl::Duration write_timeout_;
  char buffer_[kReadBuffer];
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t budget_ = 0;
  size_t consumed_ = 0;
  absl::Time deadline_;
  bool body_unread_ = false;
};

thread_local SocketStream* t_stream = nullptr;
thread_local bool t_close_after = false;

}  // namespace

// The connection threads: a fixed pool (cpp-httplib runs one connection per
// task), a short wait for a free thread, and refusals on a thread of their
// own so a flood of connections never takes a serving thread.
class ConnectionPool final : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(size_t threads) : idle_(threads) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
    overflow_ = std::thread([this] { Overflow(); });
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting_.size() < threads_.size()) {
        waiting_.push_back({std::move(fn), absl::Now()});
      } else {
        refusals_.push_back(std::move(fn));
      }
      UpdatePressureLocked();
    }
    work_cv_.notify_one();
    overflow_cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
      // Connections still waiting for a thread are refused.
      for (Job& job : waiting_) refusals_.push_back(std::move(job.fn));
      waiting_.clear();
      UpdatePressureLocked();
    }
    work_cv_.notify_all();
    overflow_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    overflow_.join();
  }

  // Whether a connection waits for a thread: idle ones should give way.
  bool pressure() const { return pressure_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    std::function<void()> fn;
    absl::Time since;
  };

  void UpdatePressureLocked() { pressure_.store(waiting_.size() > idle_); }

  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [this] { return shutdown_ || !waiting_.empty(); });
        if (waiting_.empty()) return;  // shut down
        fn = std::move(waiting_.front().fn);
        waiting_.pop_front();
        --idle_;
        UpdatePressureLocked();
      }
      fn();
      std::lock_guard<std::mutex> lock(mu_);
      ++idle_;
      UpdatePressureLocked();
    }
  }

  // Runs refusals, and refuses connections that waited too long.
  void Overflow() {
    for (;;) {
      std::deque<std::function<void()>> refuse;
      {
        std::unique_lock<std::mutex> lock(mu_);
        overflow_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] {
          return shutdown_ || !refusals_.empty();
        });
        const absl::Time now = absl::Now();
        while (!waiting_.empty() &&
               now - waiting_.front().since > kMaxThreadWait) {
          refusals_.push_back(std::move(waiting_.front().fn));
          waiting_.pop_front();
        }
        UpdatePressureLocked();
        refuse.swap(refusals_);
        if (refuse.empty() && shutdown_) return;
      }
      for (auto& fn : refuse) {
        t_refusing = true;
        fn();
        t_refusing = false;
      }
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable overflow_cv_;
  std::deque<Job> waiting_;
  std::deque<std::function<void()>> refusals_;
  size_t idle_;
  bool shutdown_ = false;
  std::atomic<bool> pressure_{false};
  std::vector<std::thread> threads_;
  std::thread overflow_;
};

BoundedHttpServer::BoundedHttpServer(const HttpLimits& limits,
                                     const std::string& busy_body,
                                     RefusalWriter refuse, BusyObserver on_busy)
    : limits_(limits),
      busy_answer_(StrCat("HTTP/1.1 503 Service Unavailable\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: ",
                          busy_body.size(),
                          "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
                          busy_body)),
      refuse_(std::move(refuse)),
      on_busy_(std::move(on_busy)) {
  new_task_queue = [this] {
    pool_ = new ConnectionPool(limits_.max_connections);
    return pool_;
  };
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(static_cast<size_t>(limits_.max_requests));
  set_keep_alive_timeout(
      std::max<time_t>(1, absl::ToInt64Seconds(limits_.idle_timeout)));
  set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        return CheckFraming(req, res);
      });
}

BoundedHttpServer::~BoundedHttpServer() = default;

int BoundedHttpServer::ConnectionSocket() { return t_socket; }

void BoundedHttpServer::CloseAfterAnswer() { t_close_after = true; }

httplib::Server::HandlerResponse BoundedHttpServer::CheckFraming(
    const httplib::Request& req, httplib::Response& res) const {
  // The head is read, the body not yet: refusing here never reads it.
  absl::Status refused;
  size_t length = 0;
  if (req.has_header("Transfer-Encoding")) {
    refused = MakeError(ErrorCode::kInvalidArgument,
                        "send the request body with Content-Length (chunked "
                        "request bodies are not accepted)");
  } else if (req.has_header("Content-Encoding") &&
             req.get_header_value("Content-Encoding") != "identity") {
    refused = MakeError(ErrorCode::kInvalidArgument,
                        "compressed request bodies are not accepted");
  } else if (req.has_header("Content-Length")) {
    const std::string value = req.get_header_value("Content-Length");
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 ||
        value.find_first_not_of("0123456789") != std::string::npos) {
      refused = MakeError(ErrorCode::kInvalidArgument,
                          "Content-Length is not a number");
    } else if (n > limits_.max_body_bytes) {
      refused = MakeError(
          ErrorCode::kMessageTooLarge,
          StrCat("the request body has ", n,
                 " bytes; this server accepts at most ", limits_.max_body_bytes,
                 " (--max-receive-message-bytes). Retrying will not help."));
    } else {
      length = static_cast<size_t>(n);
    }
  }
  if (refused.ok()) {
    if (t_stream != nullptr) t_stream->AllowBody(length);
    return HandlerResponse::Unhandled;
  }
  if (t_stream != nullptr) t_stream->set_body_unread(true);
  refuse_(req, res, refused);
  res.set_header("Connection", "close");
  return HandlerResponse::Handled;
}

bool BoundedHttpServer::AwaitRequest(int fd) const {
  const absl::Time idle_until = absl::Now() + limits_.idle_timeout;
  for (;;) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int n = poll(&p, 1, kIdlePollMs);
    if (n > 0) return true;  // bytes, or the end (the read sees which)
    if (n < 0 && errno != EINTR) return false;
    if (draining() || absl::Now() >= idle_until) return false;
    if (pool_ != nullptr && pool_->pressure()) return false;
  }
}

bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
  if (t_refusing) {
    SendAll(sock, busy_answer_, absl::Now() + kRefusalLinger);
    if (on_busy_) {
      std::string ip;
      int port = 0;
      SocketStream(sock, limits_.write_timeout)
          .get_remote_ip_and_port(ip, port);
      on_busy_(StrCat(ip, ":", port));
    }
    CloseGracefully(sock, kRefusalLinger);
    return true;
  }
  // Token streams write small pieces that must leave at once.
  const int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ++connections_;
  t_socket = sock;
  SocketStream stream(sock, limits_.write_timeout);
  t_stream = &stream;
  for (int served = 0; served < limits_.max_requests; ++served) {
    if (!stream.buffered() && !AwaitRequest(sock)) break;
    stream.BeginRequest(limits_.max_head_bytes,
                        absl::Now() + limits_.request_timeout);
    const bool last = draining() || served + 1 == limits_.max_requests;
    bool closed = false;
    t_close_after = false;
    const bool ok = process_request(stream, last, closed, nullptr);
    if (!ok || closed || last || t_close_after || stream.body_unread()) {
      break;
    }
  }
  t_stream = nullptr;
  t_socket = -1;
  CloseGracefully(sock, stream.body_unread() ? kLinger : absl::ZeroDuration());
  --connections_;
  return true;
}

}  // namespace ggufd::http
