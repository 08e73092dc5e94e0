package dev.ggufd.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Call credentials that put {@code authorization: Bearer <token>} on every call, as ggufd's
 * {@code --auth-file} expects.
 *
 * <p>Unlike credentials that insist on a secure transport (Google's OAuth ones), these apply on
 * any channel: ggufd accepts a token over plaintext on loopback, and refusing it there would break
 * the local setups the server allows. Over the network, use them with TLS so the token is not sent
 * in the clear. {@link GgufdClient.Builder#token} and {@link GgufdClient.Builder#tokenSource} put
 * them on the client's channel; a caller's own stubs can take them with {@code
 * stub.withCallCredentials(BearerToken.of(token))}.
 */
public final class BearerToken extends CallCredentials {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String fixed;
  private final Supplier<String> source;

  private BearerToken(String fixed, Supplier<String> source) {
    this.fixed = fixed;
    this.source = source;
  }

  /** Sends {@code token} on every call. */
  public static BearerToken of(String token) {
    return new BearerToken(checked(token), null);
  }

  /**
   * Asks {@code source} for the token at every call (on the channel's executor, so it may read a
   * file or a secret store), for tokens that rotate. A null or empty token sends no header (the
   * server then answers UNAUTHENTICATED when it requires one); an exception from the source fails
   * the call with UNAUTHENTICATED before anything is sent.
   */
  public static BearerToken from(Supplier<String> source) {
    return new BearerToken(null, Objects.requireNonNull(source));
  }

  /**
   * Checks that {@code token} can go in an HTTP/2 header as it is. The message never shows the
   * token: exception messages end up in logs.
   */
  static String checked(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("the bearer token is empty");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c > '~') {
        throw new IllegalArgumentException(
            "the bearer token has a space, control or non-ASCII character at index " + i);
      }
    }
    return token;
  }

  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    if (fixed != null) {
      applier.apply(header(fixed));
      return;
    }
    appExecutor.execute(
        () -> {
          String token;
          try {
            token = source.get();
            if (token != null && !token.isEmpty()) {
              checked(token);
            }
          } catch (RuntimeException e) {
            applier.fail(
                Status.UNAUTHENTICATED
                    .withDescription("the token source failed: " + e)
                    .withCause(e));
            return;
          }
          applier.apply(token == null || token.isEmpty() ? new Metadata() : header(token));
        });
  }

  private static Metadata header(String token) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);
    return headers;
  }
}
