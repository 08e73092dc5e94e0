// The text of each token id of a runtime's model, for the HTTP door's
// top_logprobs: the generation stream reports a token's alternatives by id
// only (gRPC clients detokenize them when they want), while OpenAI's answer
// spells each one. The pieces are read from the runtime once per loaded
// model, by one command on its worker that detokenizes every id alone, and
// are kept until the runtime loads another model.
#ifndef GGUFD_SERVICE_HTTP_TOKEN_SPELLER_H_
#define GGUFD_SERVICE_HTTP_TOKEN_SPELLER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "service/http/openai_response.h"
#include "service/service_state.h"

namespace ggufd::http {

class TokenSpellers {
 public:
  // A speller for the model `runtime` holds now. The first call for a model
  // queues the command that reads its pieces and waits for it (watching
  // `socket`, the client's connection: CANCELLED when it closes); the error
  // when the command cannot be queued (QUEUE_FULL) or the runtime has no
  // model.
  absl::StatusOr<TokenSpeller> For(ServiceState& state,
                                   const std::string& runtime, int socket);

 private:
  struct Vocabulary;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Vocabulary>> by_runtime_;
};

}  // namespace ggufd::http

#endif  // GGUFD_SERVICE_HTTP_TOKEN_SPELLER_H_
