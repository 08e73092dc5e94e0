package dev.ggufd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ggufd.v1.CancelResponse;
import dev.ggufd.v1.Fault;
import dev.ggufd.v1.FinishReason;
import dev.ggufd.v1.GenerateEvent;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.InferenceGrpc;
import dev.ggufd.v1.InjectFaultRequest;
import dev.ggufd.v1.LoadModelRequest;
import dev.ggufd.v1.ModelInfo;
import dev.ggufd.v1.OutputOptions;
import dev.ggufd.v1.RuntimeCounters;
import dev.ggufd.v1.RuntimeStatus;
import dev.ggufd.v1.SamplingParams;
import dev.ggufd.v1.StoppingParams;
import dev.ggufd.v1.TestHooksGrpc;
import dev.ggufd.v1.TokenizeRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The client against a real ggufd on 127.0.0.1: the scenarios every language's client checks.
 * Ordered because the first test must see the server before the model is loaded; the others load it
 * themselves when run alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GgufdClientE2ETest {
  private static final String MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(60);

  private GgufdServer server;
  private GgufdClient client;
  private TestHooksGrpc.TestHooksBlockingStub hooks;
  // Attempts (streams) the channel made for Generate calls, retries included.
  private final AtomicInteger generateAttempts = new AtomicInteger();

  @BeforeAll
  void startServer() throws Exception {
    server = GgufdServer.start();
    client = GgufdClient.builder(server.address()).intercept(new CountGenerateAttempts()).build();
    hooks = TestHooksGrpc.newBlockingStub(client.channel());
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** Adds a stream tracer to each Generate call; gRPC makes one stream per attempt. */
  private final class CountGenerateAttempts implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      if (method
          .getFullMethodName()
          .equals(InferenceGrpc.getGenerateMethod().getFullMethodName())) {
        options =
            options.withStreamTracerFactory(
                new ClientStreamTracer.Factory() {
                  @Override
                  public ClientStreamTracer newClientStreamTracer(
                      ClientStreamTracer.StreamInfo info, Metadata headers) {
                    generateAttempts.incrementAndGet();
                    return new ClientStreamTracer() {};
                  }
                });
      }
      return next.newCall(method, options);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  private void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + POLL_TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError(
            "timed out waiting for " + what + "; server log:\n" + server.recentLog());
      }
      Thread.sleep(20);
    }
  }

  private RuntimeStatus waitForStatus(String what, Predicate<RuntimeStatus> condition)
      throws InterruptedException {
    AtomicReference<RuntimeStatus> last = new AtomicReference<>();
    waitFor(
        what,
        () -> {
          last.set(client.status(""));
          return condition.test(last.get());
        });
    return last.get();
  }

  private RuntimeStatus waitIdle() throws InterruptedException {
    return waitForStatus(
        "the default runtime to be idle",
        s -> s.getRunningOperation().isEmpty() && s.getQueueDepth() == 0);
  }

  private void ensureLoaded() {
    if (!client.status("").getModelLoaded()) {
      client.loadModel(MODEL);
    }
  }

  private static GenerateRequest seededRequest() {
    return GenerateRequest.newBuilder()
        .setText("Once upon a time")
        .setSampling(SamplingParams.newBuilder().setTemperature(0.8f).setSeed(42))
        .setStopping(StoppingParams.newBuilder().setMaxTokens(24))
        .build();
  }

  /** A generation that would run for hundreds of tokens, with token ids in each chunk. */
  private static GenerateRequest longRequest(String requestId) {
    return GenerateRequest.newBuilder()
        .setRequestId(requestId)
        .setText("Once upon a time")
        .setStopping(StoppingParams.newBuilder().setMaxTokens(500).setIgnoreEos(true))
        .setOutput(OutputOptions.newBuilder().setTokenIds(true))
        .build();
  }

  private static GenerateRequest shortRequest() {
    return GenerateRequest.newBuilder()
        .setText("The sky is")
        .setStopping(StoppingParams.newBuilder().setMaxTokens(4))
        .build();
  }

  private void injectFault(Fault fault, int stallMs) {
    hooks.injectFault(
        InjectFaultRequest.newBuilder()
            .setRuntime("default")
            .setFault(fault)
            .setStallMs(stallMs)
            .build());
  }

  /**
   * After a cancelled generation: the runtime goes idle, it generated at most one token beyond the
   * {@code received} ones plus the one in progress, and counted one cancelled generation.
   */
  private void assertFreedWithinOneToken(RuntimeCounters before, int received)
      throws InterruptedException {
    RuntimeStatus after =
        waitForStatus(
            "the cancelled generation to leave the runtime",
            s ->
                s.getRunningOperation().isEmpty()
                    && s.getCounters().getGenerationsCancelled()
                        > before.getGenerationsCancelled());
    long generated = after.getCounters().getGeneratedTokens() - before.getGeneratedTokens();
    assertTrue(
        generated <= received + 2,
        "the server generated " + generated + " tokens but the client received " + received);
    assertEquals(
        before.getGenerationsCancelled() + 1, after.getCounters().getGenerationsCancelled());
  }

  private static void assertError(
      GgufdException e, Status.Code code, String reason, int errorCode) {
    assertEquals(code, e.code(), e.getMessage());
    assertEquals(reason, e.reason(), e.getMessage());
    assertEquals(errorCode, e.errorCode(), e.getMessage());
  }

  // ---- scenarios -------------------------------------------------------------------------

  @Test
  @Order(1)
  void healthFollowsTheModelLoad() throws Exception {
    assertEquals(ServingStatus.SERVING, client.health(""));
    assertEquals(ServingStatus.NOT_SERVING, client.health(GgufdClient.INFERENCE_SERVICE));

    List<Double> progress = new ArrayList<>();
    ModelInfo info =
        client.loadModel(LoadModelRequest.newBuilder().setPath(MODEL).build(), progress::add);
    assertEquals("llama", info.getArchitecture());
    assertEquals(MODEL, info.getPath());
    assertFalse(progress.isEmpty(), "LoadModel sent no progress before the model info");
    for (double f : progress) {
      assertTrue(f >= 0 && f <= 1, "progress fraction " + f);
    }

    waitFor(
        "health SERVING after the load",
        () -> client.health(GgufdClient.INFERENCE_SERVICE) == ServingStatus.SERVING);
  }

  @Test
  @Order(2)
  void seededGenerationMatchesTheCppClient() throws Exception {
    ensureLoaded();
    Path ggufctl = GgufdServer.pathFromEnv("GGUFCTL_BIN", "build/clients/cpp/ggufctl");
    Path stderr = Files.createTempFile("ggufctl", ".err");
    String cpp;
    try {
      Process p =
          new ProcessBuilder(
                  ggufctl.toString(),
                  "-s",
                  server.address(),
                  "generate",
                  "-n",
                  "24",
                  "-t",
                  "0.8",
                  "--seed",
                  "42",
                  "Once upon a time")
              .redirectError(stderr.toFile())
              .start();
      cpp = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ggufctl did not finish");
      assertEquals(0, p.exitValue(), "ggufctl failed: " + Files.readString(stderr));
    } finally {
      Files.deleteIfExists(stderr);
    }

    Generation generation = client.complete(seededRequest());
    // ggufctl ends non-empty output with a newline, terminal or not.
    String expected = generation.text().isEmpty() ? "" : generation.text() + "\n";
    assertEquals(cpp, expected);
    assertFalse(generation.text().isEmpty());

    FinishReason reason = generation.finished().getReason();
    int completion = generation.finished().getUsage().getCompletionTokens();
    assertTrue(
        (reason == FinishReason.FINISH_REASON_MAX_TOKENS && completion == 24)
            || (reason == FinishReason.FINISH_REASON_EOS && completion < 24),
        "finished " + reason + " after " + completion + " tokens");
    assertTrue(generation.finished().getUsage().getPromptTokens() > 0);
    assertEquals(
        generation.started().getPromptTokens(), generation.finished().getUsage().getPromptTokens());
    assertEquals(42, generation.started().getSeed());

    // The async call streams the same events.
    Generation async = client.completeAsync(seededRequest()).get(60, TimeUnit.SECONDS);
    assertEquals(generation.text(), async.text());
  }

  @Test
  @Order(3)
  void cancellingTheContextFreesTheServerWithinOneToken() throws Exception {
    ensureLoaded();
    RuntimeCounters before = waitIdle().getCounters();
    AtomicInteger received = new AtomicInteger();
    try (GenerateStream stream = client.generate(longRequest("java-context-cancel"))) {
      while (stream.hasNext()) {
        GenerateEvent event = stream.next();
        if (event.hasChunk()) {
          received.addAndGet(event.getChunk().getTokensCount());
          break;
        }
      }
      assertTrue(received.get() > 0, "no chunk with tokens arrived");
      stream.cancel();
      // Chunks already delivered may still be read; then the call ends CANCELLED.
      GgufdException e =
          assertThrows(
              GgufdException.class,
              () -> {
                while (stream.hasNext()) {
                  GenerateEvent event = stream.next();
                  received.addAndGet(event.getChunk().getTokensCount());
                  assertFalse(event.hasFinished(), "the stream finished normally after cancel");
                }
              });
      assertEquals(Status.Code.CANCELLED, e.code());
    }
    assertFreedWithinOneToken(before, received.get());
  }

  @Test
  @Order(4)
  void cancellingAnAsyncCallFreesTheServerWithinOneToken() throws Exception {
    ensureLoaded();
    RuntimeCounters before = waitIdle().getCounters();
    AtomicInteger received = new AtomicInteger();
    AtomicReference<Throwable> error = new AtomicReference<>();
    AtomicReference<AsyncGeneration> handle = new AtomicReference<>();
    CountDownLatch firstChunk = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    handle.set(
        client.generateAsync(
            longRequest("java-async-cancel"),
            new StreamObserver<>() {
              @Override
              public void onNext(GenerateEvent event) {
                received.addAndGet(event.getChunk().getTokensCount());
                if (event.hasChunk()) {
                  firstChunk.countDown();
                }
              }

              @Override
              public void onError(Throwable t) {
                error.set(t);
                done.countDown();
              }

              @Override
              public void onCompleted() {
                done.countDown();
              }
            }));
    assertTrue(firstChunk.await(60, TimeUnit.SECONDS), "no chunk arrived");
    handle.get().cancel();
    assertTrue(done.await(60, TimeUnit.SECONDS), "the cancelled call did not end");
    assertTrue(error.get() instanceof GgufdException, "ended with " + error.get());
    assertEquals(Status.Code.CANCELLED, ((GgufdException) error.get()).code());
    assertFreedWithinOneToken(before, received.get());
  }

  @Test
  @Order(5)
  void cancelByRequestIdEndsTheStreamCancelled() throws Exception {
    ensureLoaded();
    waitIdle();
    String id = "java-cancel-by-id";
    try (GenerateStream stream = client.generate(longRequest(id))) {
      GenerateEvent event;
      do {
        assertTrue(stream.hasNext(), "the stream ended before its first chunk");
        event = stream.next();
      } while (!event.hasChunk());
      CancelResponse response = client.cancel(id);
      assertTrue(response.getFound());
      assertEquals("running", response.getState());
      Generation rest = stream.collect();
      assertEquals(FinishReason.FINISH_REASON_CANCELLED, rest.finished().getReason());
    }
    assertFalse(client.cancel(id).getFound(), "a finished id is not found");
    waitIdle();
  }

  @Test
  @Order(6)
  void fullQueueIsResourceExhaustedAfterTheRetries() throws Exception {
    ensureLoaded();
    waitIdle();
    injectFault(Fault.FAULT_STALL_WORKER, 30_000);
    CompletableFuture<Generation> queued;
    try {
      waitForStatus("the worker to stall", s -> s.getRunningOperation().equals("stall"));
      queued = client.completeAsync(shortRequest());
      waitForStatus("the request to queue", s -> s.getQueueDepth() == 1);

      generateAttempts.set(0);
      GgufdException e =
          assertThrows(GgufdException.class, () -> client.generateText(shortRequest()));
      assertError(e, Status.Code.RESOURCE_EXHAUSTED, "QUEUE_FULL", 10);
      assertTrue(e.retryDelay().isPresent(), "RESOURCE_EXHAUSTED without RetryInfo");
      assertTrue(e.isRetryable());
      // The channel's retry policy did retry (every attempt met the full queue).
      assertEquals(RetryPolicy.DEFAULT.maxAttempts(), generateAttempts.get());
    } finally {
      injectFault(Fault.FAULT_RESUME_WORKER, 0);
    }
    Generation generation = queued.get(60, TimeUnit.SECONDS);
    assertNotNull(generation.finished());
    waitIdle();
  }

  @Test
  @Order(7)
  void generateOnAnEmptyRuntimeIsNoModel() {
    client.createRuntime("empty");
    try {
      GgufdException e =
          assertThrows(
              GgufdException.class,
              () ->
                  client.generateText(
                      GenerateRequest.newBuilder().setRuntime("empty").setText("Hello").build()));
      assertError(e, Status.Code.FAILED_PRECONDITION, "NO_MODEL", 5);
    } finally {
      client.deleteRuntime("empty");
    }
  }

  @Test
  @Order(8)
  void poisonedRuntimeFailsUntilReset() throws Exception {
    ensureLoaded();
    waitIdle();
    injectFault(Fault.FAULT_POISON_NEXT_GENERATE, 0);
    GgufdException first =
        assertThrows(GgufdException.class, () -> client.complete(shortRequest()));
    assertError(first, Status.Code.FAILED_PRECONDITION, "GENERATION_FAILED", 13);
    GgufdException second =
        assertThrows(GgufdException.class, () -> client.complete(shortRequest()));
    assertError(second, Status.Code.FAILED_PRECONDITION, "GENERATION_FAILED", 13);

    client.reset("");
    Generation generation = client.complete(shortRequest());
    assertTrue(generation.finished().getUsage().getCompletionTokens() > 0);
  }

  @Test
  @Order(9)
  void deadlineEndsALongGeneration() throws Exception {
    ensureLoaded();
    waitIdle();
    GgufdClient hurried = client.withDeadline(Duration.ofMillis(300));
    GgufdException e =
        assertThrows(
            GgufdException.class, () -> hurried.generateText(longRequest("java-deadline")));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
    waitIdle();
  }

  @Test
  @Order(10)
  void tokenizeRoundTripsAndChatAnswers() {
    ensureLoaded();
    String text = "Hello, world!";
    List<Integer> ids =
        client.tokenize(TokenizeRequest.newBuilder().setText(text).setAddSpecial(false).build());
    assertFalse(ids.isEmpty());
    assertEquals(text, client.detokenize(ids));

    String answer =
        client.chat(List.of(GgufdClient.message("user", "What is the capital of France?")), 16);
    assertFalse(answer.isBlank(), "chat returned no text");
  }

  @Test
  @Order(11)
  void serverStillRunning() throws IOException {
    assertTrue(server.isAlive(), "ggufd exited during the tests:\n" + server.recentLog());
  }
}
