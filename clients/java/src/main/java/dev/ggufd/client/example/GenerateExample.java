package dev.ggufd.client.example;

import dev.ggufd.v1.GenerateEvent;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.ModelInfo;
import dev.ggufd.v1.SamplingParams;
import dev.ggufd.v1.StoppingParams;
import dev.ggufd.client.Constraints;
import dev.ggufd.client.Embeddings;
import dev.ggufd.client.Generation;
import dev.ggufd.client.GgufdClient;
import dev.ggufd.client.GgufdException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.time.Duration;
import java.util.List;

/**
 * Streams a generation to stdout, asks one chat question, generates a phone number held to a
 * regular expression, and embeds the prompt.
 *
 * <p>Usage: {@code GenerateExample [ADDRESS [PROMPT [MODEL]]]}; ADDRESS defaults to
 * 127.0.0.1:50051. When the server has no model yet, MODEL (a path in its model directory, default
 * SmolLM2-135M-Instruct.Q4_1.gguf) is loaded first.
 */
public final class GenerateExample {
  private GenerateExample() {}

  public static void main(String[] args) {
    String address = args.length > 0 ? args[0] : "127.0.0.1:50051";
    String prompt = args.length > 1 ? args[1] : "Once upon a time";
    String model = args.length > 2 ? args[2] : "SmolLM2-135M-Instruct.Q4_1.gguf";
    int status = 0;
    try (GgufdClient client =
        GgufdClient.builder(address).defaultDeadline(Duration.ofMinutes(2)).build()) {
      if (client.health(GgufdClient.INFERENCE_SERVICE) != ServingStatus.SERVING) {
        ModelInfo info = client.loadModel(model);
        System.err.printf(
            "loaded %s (%s, %s)%n", info.getName(), info.getArchitecture(), info.getFileType());
      }
      GenerateRequest request =
          GenerateRequest.newBuilder()
              .setText(prompt)
              .setSampling(SamplingParams.newBuilder().setTemperature(0.8f).setSeed(42))
              .setStopping(StoppingParams.newBuilder().setMaxTokens(48))
              .build();
      try (var stream = client.generate(request)) {
        while (stream.hasNext()) {
          GenerateEvent event = stream.next();
          if (event.hasChunk()) {
            System.out.print(event.getChunk().getText());
            System.out.flush();
          } else if (event.hasFinished()) {
            System.out.println();
            System.err.printf(
                "[%s, %d tokens]%n",
                event.getFinished().getReason(),
                event.getFinished().getUsage().getCompletionTokens());
          }
        }
      }
      String answer =
          client.chat(List.of(GgufdClient.message("user", "What is the capital of France?")), 32);
      System.out.println("chat: " + answer);
      Generation phone =
          client.complete(
              GenerateRequest.newBuilder()
                  .setText("My phone number is ")
                  .setConstraint(Constraints.regex("[0-9]{3}-[0-9]{4}"))
                  .build());
      System.out.printf("constrained: %s (%s)%n", phone.text(), phone.finished().getReason());
      Embeddings embedding = client.embed(List.of(prompt));
      System.out.printf(
          "embedding: %d dimensions, %s, %d tokens%n",
          embedding.dimensions(), embedding.pooling(), embedding.tokens().get(0));
    } catch (GgufdException e) {
      System.err.printf(
          "ggufd: %s (gRPC %s, reason %s, code %d)%n",
          e.getMessage(), e.code(), e.reason(), e.errorCode());
      status = e.isRetryable() ? 3 : 1;
    }
    if (status != 0) {
      System.exit(status);
    }
  }
}
