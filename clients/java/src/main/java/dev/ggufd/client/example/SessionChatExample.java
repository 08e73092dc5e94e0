package dev.ggufd.client.example;

import dev.ggufd.v1.ChatPrompt;
import dev.ggufd.v1.Finished;
import dev.ggufd.v1.GenerateEvent;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.ModelInfo;
import dev.ggufd.v1.SamplingParams;
import dev.ggufd.v1.Started;
import dev.ggufd.v1.StoppingParams;
import dev.ggufd.client.GenerateStream;
import dev.ggufd.client.GgufdClient;
import dev.ggufd.client.GgufdException;
import dev.ggufd.client.Session;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A multi-turn chat on one session: each turn sends only the new user message, and the server,
 * which keeps the conversation's history and KV cache, evaluates only that.
 *
 * <p>Usage: {@code SessionChatExample [ADDRESS [MESSAGE...]]}; ADDRESS defaults to
 * 127.0.0.1:50051. Each MESSAGE is one user turn; without any, turns are read from stdin, one per
 * line. After each answer a line on stderr tells what the session's cache held (HIT: only the new
 * message was evaluated). When the server has no model yet, SmolLM2-135M-Instruct.Q4_1.gguf is
 * loaded first. The session is deleted at the end.
 */
public final class SessionChatExample {
  private SessionChatExample() {}

  public static void main(String[] args) throws IOException {
    String address = args.length > 0 ? args[0] : "127.0.0.1:50051";
    List<String> turns = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : null;
    int status = 0;
    try (GgufdClient client =
        GgufdClient.builder(address).defaultDeadline(Duration.ofMinutes(2)).build()) {
      if (client.health(GgufdClient.INFERENCE_SERVICE) != ServingStatus.SERVING) {
        ModelInfo info = client.loadModel("SmolLM2-135M-Instruct.Q4_1.gguf");
        System.err.printf("loaded %s (%s)%n", info.getName(), info.getArchitecture());
      }
      Session session = client.session("java-chat-" + ProcessHandle.current().pid());
      try {
        chat(session, turns);
      } finally {
        session.delete();
      }
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

  private static void chat(Session session, List<String> turns) throws IOException {
    BufferedReader stdin =
        turns == null
            ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
            : null;
    List<String> pending = turns == null ? List.of() : new ArrayList<>(turns);
    boolean first = true;
    while (true) {
      String message;
      if (stdin != null) {
        System.out.print("> ");
        System.out.flush();
        message = stdin.readLine();
        if (message == null) {
          System.out.println();
          return;
        }
      } else {
        if (pending.isEmpty()) {
          return;
        }
        message = pending.remove(0);
        System.out.println("> " + message);
      }
      if (message.isBlank()) {
        continue;
      }
      ChatPrompt.Builder prompt = ChatPrompt.newBuilder();
      if (first) {
        prompt.addMessages(GgufdClient.message("system", "You are a helpful assistant."));
        first = false;
      }
      prompt.addMessages(GgufdClient.message("user", message));
      // Greedy, streamed; only the new messages go with each turn.
      GenerateRequest request =
          GenerateRequest.newBuilder()
              .setChat(prompt)
              .setSampling(SamplingParams.newBuilder().setTemperature(0))
              .setStopping(StoppingParams.newBuilder().setMaxTokens(96))
              .build();
      Started started = Started.getDefaultInstance();
      Finished finished = Finished.getDefaultInstance();
      try (GenerateStream stream = session.generate(request)) {
        while (stream.hasNext()) {
          GenerateEvent event = stream.next();
          if (event.hasStarted()) {
            started = event.getStarted();
          } else if (event.hasChunk()) {
            System.out.print(event.getChunk().getText());
            System.out.flush();
          } else if (event.hasFinished()) {
            finished = event.getFinished();
          }
        }
      }
      System.out.println();
      System.err.printf(
          "[session %s: %s, history %d tokens, %d of %d prompt tokens cached, %d generated]%n",
          started.getSessionId(),
          started.getSessionCache().name().replace("SESSION_CACHE_", ""),
          started.getSessionTokens(),
          started.getCachedTokens(),
          started.getPromptTokens(),
          finished.getUsage().getCompletionTokens());
    }
  }
}
