package dev.ggufd.client;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The retry policy of the channel's default service config. Only UNAVAILABLE and RESOURCE_EXHAUSTED
 * are retried: ggufd sends those before any response header (a full queue, a draining server, a
 * dead worker), so the retried request never ran. Everything else is final. ggufd's limit refusals
 * (MESSAGE_TOO_LARGE, and LIMIT_EXCEEDED for --max-runtimes) are RESOURCE_EXHAUSTED too, but carry
 * the trailer {@code grpc-retry-pushback-ms: -1}, with which gRPC's retry gives up at once.
 *
 * @param maxAttempts attempts in all, first included (2..5; gRPC caps it at 5)
 * @param initialBackoff the upper bound of the first random backoff
 * @param maxBackoff the largest upper bound the backoff grows to
 * @param backoffMultiplier the growth of the bound per attempt
 */
public record RetryPolicy(
    int maxAttempts, Duration initialBackoff, Duration maxBackoff, double backoffMultiplier) {

  public static final RetryPolicy DEFAULT =
      new RetryPolicy(4, Duration.ofMillis(200), Duration.ofSeconds(2), 2.0);

  /** The services whose methods the policy covers (the health check is not retried). */
  static final List<String> SERVICES =
      List.of("ggufd.v1.Inference", "ggufd.v1.Runtime", "ggufd.v1.Diagnostics");

  public RetryPolicy {
    if (maxAttempts < 2 || maxAttempts > 5) {
      throw new IllegalArgumentException("maxAttempts must be in [2, 5], got " + maxAttempts);
    }
    if (initialBackoff.isNegative()
        || initialBackoff.isZero()
        || maxBackoff.compareTo(initialBackoff) < 0
        || !(backoffMultiplier > 0)) {
      throw new IllegalArgumentException(
          "backoffs must be positive and maxBackoff >= initialBackoff");
    }
  }

  /** The service config JSON as grpc-java takes it: nested maps, lists, Doubles and Strings. */
  Map<String, Object> serviceConfig() {
    Map<String, Object> retry =
        Map.of(
            "maxAttempts", (double) maxAttempts,
            "initialBackoff", seconds(initialBackoff),
            "maxBackoff", seconds(maxBackoff),
            "backoffMultiplier", backoffMultiplier,
            "retryableStatusCodes", List.of("UNAVAILABLE", "RESOURCE_EXHAUSTED"));
    List<Map<String, Object>> names =
        SERVICES.stream().map(s -> Map.<String, Object>of("service", s)).toList();
    return Map.of("methodConfig", List.of(Map.of("name", names, "retryPolicy", retry)));
  }

  private static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%d.%09ds", d.getSeconds(), d.getNano());
  }
}
