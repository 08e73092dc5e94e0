package dev.ggufd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.StoppingParams;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What the security tests share: a test CA with a server certificate ("server", for localhost and
 * 127.0.0.1) and a client certificate ("client", spiffe://test/client-a); a second CA the servers
 * do not know, with its own client certificate ("stranger"); two random tokens and an auth file
 * that lists the inference token, the admin token and the client certificate as admin. Plus the
 * assertions the security tests make.
 */
final class SecurityFixture implements AutoCloseable {
  static final String MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";
  static final Duration DEADLINE = Duration.ofSeconds(30);

  final TestPki pki;
  final TestPki otherPki;
  final String inferenceToken = randomToken();
  final String adminToken = randomToken();
  final Path authFile;

  SecurityFixture() throws IOException, InterruptedException, NoSuchAlgorithmException {
    pki = new TestPki("ggufd-java");
    pki.issueServer("server", "ggufd-java-server");
    pki.issueClient("client", "client-a", "spiffe://test/client-a");
    otherPki = new TestPki("other");
    otherPki.issueClient("stranger", "stranger", "spiffe://other/stranger");
    authFile = pki.dir().resolve("auth");
    Files.writeString(
        authFile,
        "# written by the Java client's security tests\n"
            + sha256Hex(inferenceToken)
            + " inference web\n"
            + sha256Hex(adminToken)
            + " admin ops\n"
            + "cert:spiffe://test/client-a admin mesh\n",
        StandardCharsets.UTF_8);
  }

  private static String randomToken() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** What ggufd's auth file holds for a token: the hex SHA-256 of its bytes. */
  static String sha256Hex(String token) throws NoSuchAlgorithmException {
    return HexFormat.of()
        .formatHex(
            MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
  }

  /** --model with the test model, so inference callers need no admin LoadModel. */
  static List<String> modelArgs() {
    return List.of("--model", GgufdServer.modelFile(MODEL).toString());
  }

  /** The model, TLS with the server certificate, then {@code more}. */
  List<String> tlsArgs(String... more) {
    List<String> args = new ArrayList<>(modelArgs());
    args.addAll(List.of("--tls-cert", pki.cert("server").toString()));
    args.addAll(List.of("--tls-key", pki.key("server").toString()));
    args.addAll(List.of(more));
    return args;
  }

  /** A builder with a deadline on every call. */
  static GgufdClient.Builder builder(GgufdServer server) {
    return GgufdClient.builder(server.address()).defaultDeadline(DEADLINE);
  }

  static GenerateRequest fewTokens(int n) {
    return GenerateRequest.newBuilder()
        .setText("Once upon a time")
        .setStopping(StoppingParams.newBuilder().setMaxTokens(n).setIgnoreEos(true))
        .build();
  }

  /** Generates four tokens and checks that all four came. */
  static void assertGenerates(GgufdClient client) {
    Generation generation = client.complete(fewTokens(4));
    assertEquals(4, generation.finished().getUsage().getCompletionTokens(), generation.text());
  }

  /**
   * A Generate over a client from {@code builder} fails to connect (UNAVAILABLE): the client
   * refused the server or the server the client. Without retries, to fail fast.
   */
  static void assertUnavailable(GgufdClient.Builder builder) {
    try (GgufdClient client = builder.retryPolicy(null).build()) {
      GgufdException e = assertThrows(GgufdException.class, () -> client.complete(fewTokens(4)));
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.getMessage());
    }
  }

  /** {@code call} fails with a refusal of {@code type} carrying these codes, not retryable. */
  static <T extends GgufdException> T assertRefused(
      Class<T> type, Status.Code code, String reason, int errorCode, Runnable call) {
    GgufdException e = assertThrows(GgufdException.class, call::run);
    T typed = assertInstanceOf(type, e, e.getMessage());
    assertEquals(code, e.code(), e.getMessage());
    assertEquals(reason, e.reason(), e.getMessage());
    assertEquals(errorCode, e.errorCode(), e.getMessage());
    assertFalse(e.isRetryable(), e.getMessage());
    return typed;
  }

  @Override
  public void close() throws IOException {
    try {
      pki.close();
    } finally {
      otherPki.close();
    }
  }
}
