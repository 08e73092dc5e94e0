package dev.ggufd.client;

import static dev.ggufd.client.SecurityFixture.assertGenerates;
import static dev.ggufd.client.SecurityFixture.assertRefused;
import static dev.ggufd.client.SecurityFixture.builder;
import static dev.ggufd.client.SecurityFixture.fewTokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.reflection.v1alpha.ServerReflectionGrpc;
import io.grpc.reflection.v1alpha.ServerReflectionRequest;
import io.grpc.reflection.v1alpha.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Bearer tokens, roles and client-certificate identities against one real ggufd serving TLS with
 * optional client certificates and an auth file (see {@link SecurityFixture}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GgufdAuthE2ETest {
  private SecurityFixture fixture;
  private GgufdServer server;

  @BeforeAll
  void start() throws Exception {
    fixture = new SecurityFixture();
    server =
        GgufdServer.start(
            fixture.tlsArgs(
                "--tls-client-ca",
                fixture.pki.caFile().toString(),
                "--tls-client-auth",
                "optional",
                "--auth-file",
                fixture.authFile.toString()));
  }

  @AfterAll
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  private GgufdClient.Builder tls() throws Exception {
    return builder(server).tlsCa(fixture.pki.caFile());
  }

  /** The error of a grpc.reflection list_services call (gRPC's service: no ErrorInfo). */
  private static GgufdException reflectionError(GgufdClient client) throws Exception {
    CompletableFuture<Throwable> done = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(client.channel())
            .withDeadlineAfter(SecurityFixture.DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
            .serverReflectionInfo(
                new StreamObserver<ServerReflectionResponse>() {
                  @Override
                  public void onNext(ServerReflectionResponse response) {}

                  @Override
                  public void onError(Throwable t) {
                    done.complete(t);
                  }

                  @Override
                  public void onCompleted() {
                    done.complete(null);
                  }
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
    requests.onCompleted();
    Throwable error = done.get(SecurityFixture.DEADLINE.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(error, "reflection answered a caller that is not admin");
    return GgufdException.from(error);
  }

  @Test
  void missingOrUnknownTokensAreUnauthenticated() throws Exception {
    try (GgufdClient client = tls().build()) {
      assertRefused(
          GgufdException.Unauthenticated.class,
          Status.Code.UNAUTHENTICATED,
          "UNAUTHENTICATED",
          21,
          () -> client.complete(fewTokens(4)));
      // Health stays open without a token.
      assertEquals(ServingStatus.SERVING, client.health(GgufdClient.INFERENCE_SERVICE));
    }
    try (GgufdClient client = tls().token("not-" + fixture.inferenceToken).build()) {
      assertRefused(
          GgufdException.Unauthenticated.class,
          Status.Code.UNAUTHENTICATED,
          "UNAUTHENTICATED",
          21,
          () -> client.tokenize("hello"));
    }
  }

  @Test
  void anInferenceTokenGeneratesButCannotAdminister() throws Exception {
    Path file = fixture.pki.dir().resolve("web.token");
    Files.writeString(file, fixture.inferenceToken + "\n", StandardCharsets.UTF_8);
    try (GgufdClient client = tls().tokenFile(file).build()) {
      assertGenerates(client);
      assertRefused(
          GgufdException.AccessDenied.class,
          Status.Code.PERMISSION_DENIED,
          "ACCESS_DENIED",
          22,
          () -> client.status(""));
      assertRefused(
          GgufdException.AccessDenied.class,
          Status.Code.PERMISSION_DENIED,
          "ACCESS_DENIED",
          22,
          () -> client.loadModel(SecurityFixture.MODEL));
    }
  }

  @Test
  void anAdminTokenAdministers() throws Exception {
    try (GgufdClient client = tls().token(fixture.adminToken).build()) {
      assertTrue(client.status("").getModelLoaded());
      assertGenerates(client);
    }
  }

  @Test
  void aListedClientCertificateNeedsNoToken() throws Exception {
    // The auth file lists cert:spiffe://test/client-a as admin.
    try (GgufdClient client =
        tls().tlsClientCertificate(fixture.pki.cert("client"), fixture.pki.key("client")).build()) {
      assertTrue(client.status("").getModelLoaded());
      assertGenerates(client);
    }
  }

  @Test
  void theTokenSourceIsAskedOnEveryCall() throws Exception {
    AtomicReference<String> current = new AtomicReference<>("revoked-token");
    AtomicInteger asked = new AtomicInteger();
    try (GgufdClient client =
        tls()
            .tokenSource(
                () -> {
                  asked.incrementAndGet();
                  return current.get();
                })
            .build()) {
      assertThrows(GgufdException.Unauthenticated.class, () -> client.tokenize("hello"));
      current.set(fixture.inferenceToken);
      assertFalse(client.tokenize("hello").isEmpty());
      assertEquals(2, asked.get());
      // A token that cannot go in a header fails the call before it is sent.
      current.set("bad token with spaces");
      assertThrows(GgufdException.Unauthenticated.class, () -> client.tokenize("hello"));
    }
  }

  @Test
  void refusalsWithoutErrorInfoMapByStatusCode() throws Exception {
    // gRPC's reflection service is admin-only; the server can refuse it only by status code.
    try (GgufdClient client = tls().build()) {
      GgufdException e = reflectionError(client);
      assertInstanceOf(GgufdException.Unauthenticated.class, e, e.getMessage());
      assertEquals("", e.reason());
      assertEquals(0, e.errorCode());
    }
    try (GgufdClient client = tls().token(fixture.inferenceToken).build()) {
      GgufdException e = reflectionError(client);
      assertInstanceOf(GgufdException.AccessDenied.class, e, e.getMessage());
      assertEquals(Status.Code.PERMISSION_DENIED, e.code());
      assertEquals(0, e.errorCode());
    }
  }
}
