package dev.ggufd.client;

import static dev.ggufd.client.SecurityFixture.assertGenerates;
import static dev.ggufd.client.SecurityFixture.assertRefused;
import static dev.ggufd.client.SecurityFixture.builder;
import static dev.ggufd.client.SecurityFixture.fewTokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Request limits against one real ggufd on plaintext loopback with an auth file (the client sends
 * its token over plaintext, which ggufd allows on loopback): the refusals are typed, and those
 * sent as RESOURCE_EXHAUSTED are not retried although the retry policy covers that code, as both
 * the client's attempt count and the server's ggufd_limit_rejections_total show.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GgufdLimitsE2ETest {
  private static final int MAX_MESSAGE_BYTES = 4096;

  private SecurityFixture fixture;
  private GgufdServer server;
  private GgufdClient client;
  // Streams the client opened, one per attempt (retries included).
  private final AtomicInteger attempts = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    fixture = new SecurityFixture();
    List<String> args = new ArrayList<>(SecurityFixture.modelArgs());
    args.addAll(
        List.of(
            "--auth-file",
            fixture.authFile.toString(),
            "--max-receive-message-bytes",
            Integer.toString(MAX_MESSAGE_BYTES),
            "--max-new-tokens",
            "8",
            "--max-runtimes",
            "1",
            "--metrics-port",
            "0"));
    server = GgufdServer.start(args);
    // The default retry policy (RESOURCE_EXHAUSTED included) stays on.
    client = builder(server).token(fixture.adminToken).intercept(new CountAttempts()).build();
  }

  @AfterAll
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  /** Adds a stream tracer to each call; gRPC makes one stream per attempt. */
  private final class CountAttempts implements ClientInterceptor {
    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return next.newCall(
          method,
          options.withStreamTracerFactory(
              new ClientStreamTracer.Factory() {
                @Override
                public ClientStreamTracer newClientStreamTracer(
                    ClientStreamTracer.StreamInfo info, Metadata headers) {
                  attempts.incrementAndGet();
                  return new ClientStreamTracer() {};
                }
              }));
    }
  }

  private double rejections(String limit) throws Exception {
    return server.metric("ggufd_limit_rejections_total{limit=\"" + limit + "\"}");
  }

  @Test
  void aPlaintextLoopbackCallCarriesTheToken() throws Exception {
    assertGenerates(client);
    try (GgufdClient anonymous = builder(server).build()) {
      assertThrows(GgufdException.Unauthenticated.class, () -> anonymous.tokenize("hello"));
    }
  }

  @Test
  void anOversizedRequestIsMessageTooLargeAndNotRetried() throws Exception {
    double before = rejections("message_bytes");
    int attemptsBefore = attempts.get();
    // Above the limit but below twice it, beyond which gRPC drops the message before ggufd.
    String prompt = "word ".repeat(MAX_MESSAGE_BYTES / 4);
    GgufdException.MessageTooLarge e =
        assertRefused(
            GgufdException.MessageTooLarge.class,
            Status.Code.RESOURCE_EXHAUSTED,
            "MESSAGE_TOO_LARGE",
            23,
            () -> client.generateText(prompt, 4));
    assertTrue(e.retryDelay().isEmpty(), e.getMessage());
    assertEquals(1, attempts.get() - attemptsBefore, "attempts of the refused call");
    assertEquals(1, rejections("message_bytes") - before, "refusals the server counted");
  }

  @Test
  void aMessageGrpcDropsItselfIsMessageTooLargeToo() throws Exception {
    // Twice the limit and more: gRPC refuses it without ErrorInfo (and without the no-retry
    // trailer, so the built-in retry would repeat it; this client has retries off).
    String prompt = "word ".repeat(MAX_MESSAGE_BYTES);
    try (GgufdClient noRetries =
        builder(server).token(fixture.adminToken).retryPolicy(null).build()) {
      GgufdException e =
          assertThrows(GgufdException.class, () -> noRetries.generateText(prompt, 4));
      assertInstanceOf(GgufdException.MessageTooLarge.class, e, e.getMessage());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
      assertEquals(0, e.errorCode());
      assertFalse(e.isRetryable());
    }
  }

  @Test
  void tooManyNewTokensIsLimitExceeded() throws Exception {
    double before = rejections("new_tokens");
    GgufdException.LimitExceeded e =
        assertRefused(
            GgufdException.LimitExceeded.class,
            Status.Code.INVALID_ARGUMENT,
            "LIMIT_EXCEEDED",
            24,
            () -> client.complete(fewTokens(9)));
    assertEquals(List.of("stopping.max_tokens"), e.badFields());
    assertEquals(1, rejections("new_tokens") - before);
    // The limit itself is allowed.
    assertEquals(8, client.complete(fewTokens(8)).finished().getUsage().getCompletionTokens());
  }

  @Test
  void tooManyRuntimesIsLimitExceededAndNotRetried() throws Exception {
    double before = rejections("runtimes");
    int attemptsBefore = attempts.get();
    assertRefused(
        GgufdException.LimitExceeded.class,
        Status.Code.RESOURCE_EXHAUSTED,
        "LIMIT_EXCEEDED",
        24,
        () -> client.createRuntime("second"));
    assertEquals(1, attempts.get() - attemptsBefore, "attempts of the refused call");
    assertEquals(1, rejections("runtimes") - before, "refusals the server counted");
  }
}
