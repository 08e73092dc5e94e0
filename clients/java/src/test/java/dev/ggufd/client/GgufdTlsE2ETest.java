package dev.ggufd.client;

import static dev.ggufd.client.SecurityFixture.assertGenerates;
import static dev.ggufd.client.SecurityFixture.assertUnavailable;
import static dev.ggufd.client.SecurityFixture.builder;

import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The client's TLS options against real servers with certificates made by openssl at test time: one
 * serving TLS, one requiring client certificates (mTLS).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GgufdTlsE2ETest {
  private SecurityFixture fixture;
  private GgufdServer tlsServer;
  private GgufdServer mtlsServer;

  @BeforeAll
  void start() throws Exception {
    fixture = new SecurityFixture();
    tlsServer = GgufdServer.start(fixture.tlsArgs());
    // --tls-client-auth defaults to required.
    mtlsServer =
        GgufdServer.start(fixture.tlsArgs("--tls-client-ca", fixture.pki.caFile().toString()));
  }

  @AfterAll
  void stop() throws Exception {
    for (GgufdServer server : new GgufdServer[] {tlsServer, mtlsServer}) {
      if (server != null) {
        server.close();
      }
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void generatesOverTlsTrustingTheCa() throws Exception {
    try (GgufdClient client = builder(tlsServer).tlsCa(fixture.pki.caFile()).build()) {
      assertGenerates(client);
    }
    // The same CA as bytes, and the certificate's DNS name checked instead of the dialed IP.
    try (GgufdClient client =
        builder(tlsServer)
            .tlsCa(Files.readAllBytes(fixture.pki.caFile()))
            .tlsServerName("localhost")
            .build()) {
      assertGenerates(client);
    }
  }

  @Test
  void refusesAServerItCannotVerify() throws Exception {
    assertUnavailable(builder(tlsServer).tlsCa(fixture.otherPki.caFile()));
    // The JVM's trusted roots do not know the test CA either.
    assertUnavailable(builder(tlsServer).tls());
    // The right CA but a name the certificate does not list: the override is what is checked.
    assertUnavailable(
        builder(tlsServer).tlsCa(fixture.pki.caFile()).tlsServerName("ggufd.invalid"));
    // A plaintext client cannot talk to the TLS port.
    assertUnavailable(builder(tlsServer));
  }

  @Test
  void mutualTlsRequiresAClientCertificateFromTheCa() throws Exception {
    assertUnavailable(builder(mtlsServer).tlsCa(fixture.pki.caFile()));
    assertUnavailable(
        builder(mtlsServer)
            .tlsCa(fixture.pki.caFile())
            .tlsClientCertificate(
                fixture.otherPki.cert("stranger"), fixture.otherPki.key("stranger")));
    try (GgufdClient client =
        builder(mtlsServer)
            .tlsCa(fixture.pki.caFile())
            .tlsClientCertificate(fixture.pki.cert("client"), fixture.pki.key("client"))
            .build()) {
      assertGenerates(client);
    }
  }
}
