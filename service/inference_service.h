// ggufd.v1.Inference on gRPC's callback API.
#ifndef GGUFD_SERVICE_INFERENCE_SERVICE_H_
#define GGUFD_SERVICE_INFERENCE_SERVICE_H_

#include "ggufd/v1/inference.grpc.pb.h"
#include "service/service_state.h"

namespace ggufd {

class InferenceService final : public v1::Inference::CallbackService {
 public:
  explicit InferenceService(ServiceState& state) : state_(state) {}

  grpc::ServerWriteReactor<v1::GenerateEvent>* Generate(
      grpc::CallbackServerContext* context,
      const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(
      grpc::CallbackServerContext* context,
      const v1::DetokenizeRequest* request,
      v1::DetokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::CancelRequest* request,
                                   v1::CancelResponse* response) override;
  // The call itself is service/embed_call.h's, shared with the HTTP door.
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* context,
                                  const v1::EmbedRequest* request,
                                  v1::EmbedResponse* response) override;

 private:
  ServiceState& state_;
};

}  // namespace ggufd

#endif  // GGUFD_SERVICE_INFERENCE_SERVICE_H_
