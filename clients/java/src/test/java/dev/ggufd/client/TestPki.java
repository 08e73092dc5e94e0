package dev.ggufd.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway certificate authority made with the openssl CLI in a temporary directory, as the C++
 * tests make theirs (tests/service/security_testing.cc): EC P-256 keys, a self-signed CA, server
 * certificates for DNS:localhost and IP:127.0.0.1 (serverAuth) and client certificates with a URI
 * SAN such as a SPIFFE id (clientAuth). {@link #close()} deletes the directory.
 */
final class TestPki implements AutoCloseable {
  private final Path dir;

  /** A new CA whose subject CN is {@code name + "-ca"}. */
  TestPki(String name) throws IOException, InterruptedException {
    dir = Files.createTempDirectory("ggufd-java-pki-");
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "2", "-subj", "/CN=" + name + "-ca", "-keyout", dir.resolve("ca.key").toString(),
        "-out", caFile().toString());
  }

  Path dir() {
    return dir;
  }

  /** The CA certificate (PEM), what clients trust and --tls-client-ca takes. */
  Path caFile() {
    return dir.resolve("ca.pem");
  }

  /** {@code <name>.pem}: a certificate this CA issued. */
  Path cert(String name) {
    return dir.resolve(name + ".pem");
  }

  /** {@code <name>.key}: its private key (PKCS#8 PEM, as openssl 3 writes it). */
  Path key(String name) {
    return dir.resolve(name + ".key");
  }

  /** A server certificate {@code name} for localhost and 127.0.0.1. */
  void issueServer(String name, String commonName) throws IOException, InterruptedException {
    issue(
        name,
        "/CN=" + commonName,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  }

  /** A client certificate {@code name} whose identity (URI SAN) is {@code uri}. */
  void issueClient(String name, String commonName, String uri)
      throws IOException, InterruptedException {
    issue(
        name, "/CN=" + commonName, "subjectAltName=URI:" + uri + "\nextendedKeyUsage=clientAuth\n");
  }

  private void issue(String name, String subject, String extensions)
      throws IOException, InterruptedException {
    Path ext = dir.resolve(name + ".ext");
    Path csr = dir.resolve(name + ".csr");
    Files.writeString(ext, extensions, StandardCharsets.UTF_8);
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
        subject, "-keyout", key(name).toString(), "-out", csr.toString());
    openssl(
        "x509", "-req", "-days", "2", "-in", csr.toString(), "-CA", caFile().toString(),
        "-CAkey", dir.resolve("ca.key").toString(), "-CAcreateserial", "-CAserial",
        dir.resolve("ca.srl").toString(), "-extfile", ext.toString(), "-out",
        cert(name).toString());
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException("openssl " + String.join(" ", args) + " failed:\n" + output);
    }
  }

  @Override
  public void close() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
