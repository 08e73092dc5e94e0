// cpp-httplib's HTTP/1.1 server with the bounds a server in front of the
// runtimes needs. cpp-httplib serves each connection on a thread of its own
// from a pool and reads requests through a Stream; this subclass brings
// both (the pattern cpp-httplib's own SSLServer uses), so that:
//   - at most `max_connections` connections are served at once (one thread
//     each); a connection beyond waits up to a second for a free thread,
//     idle keep-alive connections closing to make room, and is then
//     answered 503 and closed;
//   - a request's line and headers (`max_head_bytes`) and body
//     (`max_body_bytes`, sent with Content-Length: chunked or compressed
//     bodies are refused) are bounded in bytes, and the whole request in
//     time (`request_timeout`), so a slow or endless sender holds a thread
//     for a bounded time;
//   - idle keep-alive connections close after `idle_timeout`, at once when
//     draining, and each connection serves at most `max_requests`;
//   - the handler running on a connection's thread can find its socket
//     (ConnectionSocket()) to watch for the client going away while it
//     waits for the runtime;
//   - sockets are written with MSG_NOSIGNAL, and a connection whose request
//     body was refused unread lingers before closing, so the answer is not
//     destroyed by the reset that closing over unread bytes sends.
#ifndef GGUFD_SERVICE_HTTP_BOUNDED_HTTP_SERVER_H_
#define GGUFD_SERVICE_HTTP_BOUNDED_HTTP_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ggufd::http {

struct HttpLimits {
  size_t max_connections = 64;
  size_t max_head_bytes = 64 << 10;
  size_t max_body_bytes = 4 << 20;
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(15);
  int max_requests = 1000;  // per connection
};

class ConnectionPool;

class BoundedHttpServer : public httplib::Server {
 public:
  // Writes the answer to a request refused before its handler ran (a body
  // too large or not sent with Content-Length) into the response.
  using RefusalWriter = std::function<void(
      const httplib::Request&, httplib::Response&, const absl::Status&)>;

  // Told of each connection answered `busy_body` (503) before any request
  // was read, with the peer's "address:port"; runs on the thread that
  // refused it.
  using BusyObserver = std::function<void(const std::string& peer)>;

  // `busy_body` is the JSON a connection beyond the limit is answered with
  // (503); `refuse` writes the other refusals.
  BoundedHttpServer(const HttpLimits& limits, const std::string& busy_body,
                    RefusalWriter refuse, BusyObserver on_busy);
  ~BoundedHttpServer() override;

  // The socket of the connection whose request this thread is serving; -1
  // on any other thread.
  static int ConnectionSocket();
  // Closes the connection after the answer this thread is writing (its
  // request could not be read whole: what follows cannot be trusted).
  static void CloseAfterAnswer();

  // From now on idle connections close and every answer ends its
  // connection (`Connection: close`).
  void BeginDrain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }

  // Connections being served now.
  size_t connections() const { return connections_.load(); }

 private:
  // cpp-httplib's per-connection entry point (private and virtual there).
  bool process_and_close_socket(socket_t sock) override;
  // Waits for the next request's first bytes: false when the connection
  // should close instead (idle too long, draining, or a connection waiting
  // for a thread).
  bool AwaitRequest(int fd) const;
  // Checks the framing of a request whose head was read, before its body.
  httplib::Server::HandlerResponse CheckFraming(const httplib::Request& req,
                                                httplib::Response& res) const;

  const HttpLimits limits_;
  const std::string busy_answer_;  // the whole 503 answer, head and body
  const RefusalWriter refuse_;
  const BusyObserver on_busy_;
  ConnectionPool* pool_ = nullptr;  // created and owned by httplib's listen
  std::atomic<bool> draining_{false};
  std::atomic<size_t> connections_{0};
};

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_BOUNDED_HTTP_SERVER_H_
