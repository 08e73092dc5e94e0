// ggufd.v1.TestHooks: fault injection for the service tests. Registered
// only when the server runs with --enable-test-hooks.
#ifndef GGUFD_SERVICE_TEST_HOOKS_SERVICE_H_
#define GGUFD_SERVICE_TEST_HOOKS_SERVICE_H_

#include <condition_variable>
#include <mutex>

#include "ggufd/v1/testing.grpc.pb.h"
#include "service/service_state.h"

namespace ggufd {

class TestHooksService final : public v1::TestHooks::CallbackService {
 public:
  explicit TestHooksService(ServiceState& state) : state_(state) {}
  // Releases any stalled worker.
  ~TestHooksService() override;

  // Releases every stalled worker (shutdown).
  void ResumeAll();

  grpc::ServerUnaryReactor* InjectFault(
      grpc::CallbackServerContext* context,
      const v1::InjectFaultRequest* request,
      v1::InjectFaultResponse* response) override;

 private:
  ServiceState& state_;
  // Stalled workers wait here until resumed.
  std::mutex mu_;
  std::condition_variable resumed_;
  uint64_t resume_generation_ = 0;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_TEST_HOOKS_SERVICE_H_
