#include "service/http/stream_waiter.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

namespace ggufd::http {
namespace {

// POLLRDHUP: the peer shut its side down. A client that half-closes after
// sending its request counts as gone, as it does for most servers.
constexpr short kGone = POLLRDHUP | POLLHUP | POLLERR | POLLNVAL;

}  // namespace

bool PeerClosed(int socket) {
  if (socket < 0) return false;
  pollfd p{.fd = socket, .events = POLLRDHUP, .revents = 0};
  return poll(&p, 1, 0) > 0 && (p.revents & kGone) != 0;
}

StreamWaiter::StreamWaiter(std::shared_ptr<GenerationStream> stream, int socket)
    : stream_(std::move(stream)),
      socket_(socket),
      event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

StreamWaiter::~StreamWaiter() {
  // After Detach no wake-up can fire, so the fd may close.
  stream_->Detach();
  if (event_fd_ >= 0) close(event_fd_);
}

StreamWaiter::Next StreamWaiter::Wait() {
  Next out;
  for (;;) {
    const int fd = event_fd_;
    out.next = stream_->TakeOrWait([fd] {
      const uint64_t one = 1;
      // Non-blocking: a counter that is already set wakes the reader too.
      (void)!write(fd, &one, sizeof(one));
    });
    if (out.next.event.has_value() || out.next.finish.has_value()) return out;
    pollfd fds[2] = {{.fd = event_fd_, .events = POLLIN, .revents = 0},
                     {.fd = socket_, .events = POLLRDHUP, .revents = 0}};
    const int n = poll(fds, socket_ >= 0 ? 2 : 1, -1);
    if (n < 0 && errno != EINTR) {
      out.client_gone = true;  // cannot wait: treat as gone, never spin
      return out;
    }
    if (socket_ >= 0 && (fds[1].revents & kGone) != 0) {
      out.client_gone = true;
      return out;
    }
    uint64_t count = 0;
    (void)!read(event_fd_, &count, sizeof(count));
  }
}

}  // namespace ggufd::http
