package dev.ggufd.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real ggufd started for the tests on 127.0.0.1 with an OS-chosen port and, unless the extra
 * flags say --model, no model (the tests load it through the API). Paths come from GGUFD_BIN and
 * GGUFD_MODELS_DIR, defaulting to the repository's build and models folders.
 */
final class GgufdServer implements AutoCloseable {
  private static final Pattern PORT = Pattern.compile("\"port\"\\s*:\\s*(\\d+)");
  private static final Pattern METRICS_PORT =
      Pattern.compile("\"metrics_port\"\\s*:\\s*(-?\\d+)");
  private static final int LOG_LINES_KEPT = 60;

  private final Process process;
  private final int port;
  private final int metricsPort;
  private final Deque<String> log;

  private GgufdServer(Process process, int port, int metricsPort, Deque<String> log) {
    this.process = process;
    this.port = port;
    this.metricsPort = metricsPort;
    this.log = log;
  }

  /** The repository root: two levels above this client's folder. */
  static Path repoRoot() {
    String dir = System.getenv("GGUFD_JAVA_CLIENT_DIR");
    Path client = dir != null ? Path.of(dir) : Path.of("").toAbsolutePath();
    return client.resolve("../..").normalize();
  }

  static Path pathFromEnv(String name, String repoRelativeDefault) {
    String value = System.getenv(name);
    return value != null && !value.isEmpty()
        ? Path.of(value)
        : repoRoot().resolve(repoRelativeDefault);
  }

  static GgufdServer start() throws IOException, InterruptedException {
    return start(List.<String>of());
  }

  /** A server whose saved sessions go to {@code stateDir} (--state-dir), when not null. */
  static GgufdServer start(Path stateDir) throws IOException, InterruptedException {
    return start(stateDir == null ? List.of() : List.of("--state-dir", stateDir.toString()));
  }

  /** The model file the tests use, in GGUFD_MODELS_DIR (for --model). */
  static Path modelFile(String name) {
    return pathFromEnv("GGUFD_MODELS_DIR", "models").resolve(name);
  }

  /**
   * A server started with {@code extraArgs} after the defaults (TLS, auth and limit flags, or
   * --model to start with a model loaded). A --metrics-port among them replaces the default -1.
   */
  static GgufdServer start(List<String> extraArgs) throws IOException, InterruptedException {
    Path binary = pathFromEnv("GGUFD_BIN", "build/service/ggufd");
    Path models = pathFromEnv("GGUFD_MODELS_DIR", "models");
    if (!Files.isExecutable(binary)) {
      throw new IOException("no ggufd binary at " + binary + " (set GGUFD_BIN)");
    }
    List<String> command =
        new ArrayList<>(
            List.of(
                binary.toString(),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--model-dir",
                models.toString(),
                "--threads",
                "1",
                "--queue-capacity",
                "1",
                "--grace-period-ms",
                "2000",
                "--enable-test-hooks"));
    if (!extraArgs.contains("--metrics-port")) {
      command.addAll(List.of("--metrics-port", "-1"));
    }
    command.addAll(extraArgs);
    Process process =
        new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    // The port and the metrics port, from the "listening" log line.
    CompletableFuture<int[]> listening = new CompletableFuture<>();
    Deque<String> early = new ArrayDeque<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  synchronized (early) {
                    early.addLast(line);
                    if (early.size() > LOG_LINES_KEPT) {
                      early.removeFirst();
                    }
                  }
                  if (!listening.isDone() && line.contains("\"msg\":\"listening\"")) {
                    Matcher m = PORT.matcher(line);
                    Matcher metrics = METRICS_PORT.matcher(line);
                    if (m.find()) {
                      int metricsPort = metrics.find() ? Integer.parseInt(metrics.group(1)) : -1;
                      listening.complete(new int[] {Integer.parseInt(m.group(1)), metricsPort});
                    }
                  }
                }
              } catch (IOException e) {
                // The process is gone; the start-up wait below reports it.
              }
              listening.completeExceptionally(new IOException("ggufd exited before listening"));
            },
            "ggufd-stderr");
    reader.setDaemon(true);
    reader.start();
    int[] ports;
    try {
      ports = listening.get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      synchronized (early) {
        throw new IOException("ggufd did not start: " + String.join("\n", early), e);
      }
    }
    // A JVM killed mid-test must not leave the server running.
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    return new GgufdServer(process, ports[0], ports[1], early);
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  /**
   * The value of the Prometheus sample {@code series} (name and labels exactly as the server
   * prints them, e.g. {@code ggufd_limit_rejections_total{limit="new_tokens"}}) on /metrics; 0
   * when the series is absent (a counter not yet incremented). Needs --metrics-port 0.
   */
  double metric(String series) throws IOException, InterruptedException {
    if (metricsPort <= 0) {
      throw new IllegalStateException("started without --metrics-port");
    }
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(java.time.Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("/metrics answered " + response.statusCode());
    }
    for (String line : response.body().split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return 0;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** The last lines the server logged, for failure messages. */
  String recentLog() {
    synchronized (log) {
      return String.join("\n", log);
    }
  }

  /** SIGTERM, then SIGKILL if it has not stopped within 10 s. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
