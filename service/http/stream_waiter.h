// Blocking reads of a GenerationStream for the HTTP door, whose handlers
// run on a connection's own thread: waits for the next event or the final
// status while watching the connection, so a client that goes away is seen
// at once (not at the next write) and its generation is cancelled within a
// token, like a gRPC client's cancel.
//
// The stream's wake-up (fired on the worker thread, under the stream's
// lock) writes to an eventfd; the waiter polls it together with the socket.
#ifndef GGUFD_SERVICE_HTTP_STREAM_WAITER_H_
#define GGUFD_SERVICE_HTTP_STREAM_WAITER_H_

#include <memory>

#include "service/generation_stream.h"

namespace ggufd::http {

class StreamWaiter {
 public:
  // `socket`: the client's connection (-1: do not watch one).
  StreamWaiter(std::shared_ptr<GenerationStream> stream, int socket);
  // Detaches from the stream (no wake-up fires after) and closes the fd.
  ~StreamWaiter();
  StreamWaiter(const StreamWaiter&) = delete;
  StreamWaiter& operator=(const StreamWaiter&) = delete;

  struct Next {
    GenerationStream::Next next;  // an event, or the final status
    bool client_gone = false;     // or neither: the client went away
  };
  Next Wait();

 private:
  const std::shared_ptr<GenerationStream> stream_;
  const int socket_;
  int event_fd_ = -1;
};

// Whether the peer of `socket` has closed (or reset) the connection,
// without reading anything.
bool PeerClosed(int socket);

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_STREAM_WAITER_H_
