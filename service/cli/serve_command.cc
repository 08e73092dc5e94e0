// `ggufd serve`: run the gRPC server until SIGTERM or SIGINT, then drain.
// Every flag has an environment variable (GGUFD_LISTEN, ...) for container
// deployments; a flag on the command line wins.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "service/cli/commands.h"
#include "service/cli/connection_flags.h"
#include "service/json_log.h"
#include "service/runtime_registry.h"
#include "service/server.h"

namespace ggufd::cli {
namespace {

struct ServeFlags {
  ServerOptions server;
  int grace_period_ms = 30000;
  std::string client_auth = "required";
  bool disable_reflection = false;
  bool disable_channelz = false;
};

// Runs the server on this thread until a termination signal.
int Serve(const ServeFlags& flags) {
  JsonLog log;
  // Block the signals before any thread starts, so every thread inherits
  // the mask and only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServerOptions options = flags.server;
  options.tls.client_cert_required = flags.client_auth == "required";
  options.reflection = !flags.disable_reflection;
  options.channelz = !flags.disable_channelz;
  if (options.model_dir.empty()) {
    options.model_dir =
        options.model.empty()
            ? std::string(".")
            : std::filesystem::path(options.model).parent_path().string();
    if (options.model_dir.empty()) options.model_dir = ".";
  }
  auto server = Server::Start(options, log);
  if (!server.ok()) {
    log.Error("cannot start",
              {{"error", std::string(server.status().message())},
               {"code", static_cast<int>(server.status().code())}});
    return 1;
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log.Info("signal",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Drain(absl::Milliseconds(flags.grace_period_ms));
  return 0;
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve GGUF models over gRPC");
  auto flags = std::make_shared<ServeFlags>();
  ServerOptions& o = flags->server;
  cmd->add_option("--listen", o.listen, "gRPC listen address (port 0 = any)")
      ->envname("GGUFD_LISTEN")
      ->capture_default_str();
  cmd->add_option("--metrics-port", o.metrics_port,
                  "Prometheus /metrics port on the listen host (0 = any, "
                  "-1 = off)")
      ->envname("GGUFD_METRICS_PORT")
      ->capture_default_str();
  cmd->add_option("--model", o.model, "GGUF file to load into 'default'")
      ->envname("GGUFD_MODEL");
  cmd->add_option("--model-dir", o.model_dir,
                  "Directory LoadModel paths are confined to (default: the "
                  "--model file's directory, else the working directory)")
      ->envname("GGUFD_MODEL_DIR");
  cmd->add_option("--state-dir", o.state_dir,
                  "Directory sessions are saved to and restored from (none: "
                  "SaveSession/RestoreSession are refused)")
      ->envname("GGUFD_STATE_DIR");
  cmd->add_option("--session-memory", o.sessions.memory_bytes,
                  "KV cache bytes each runtime's idle sessions may hold, "
                  "e.g. 2GiB (0 = a quarter of RAM, at most 8 GiB)")
      ->envname("GGUFD_SESSION_MEMORY")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  cmd->add_option("--session-ttl-s", o.sessions.ttl_seconds,
                  "Drop sessions idle for longer than this")
      ->envname("GGUFD_SESSION_TTL_S")
      ->check(CLI::Range(1, 365 * 86400))
      ->capture_default_str();
  cmd->add_option("--max-sessions", o.sessions.max_sessions,
                  "Sessions per runtime; one more drops the least recently "
                  "used")
      ->envname("GGUFD_MAX_SESSIONS")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "Compute threads per runtime (0 = all cores)")
      ->envname("GGUFD_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--context-length", o.context_length,
                  "Context length in tokens (0 = the model's, capped at 8192)")
      ->envname("GGUFD_CONTEXT_LENGTH")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--queue-capacity", o.queue_capacity,
                  "Requests that may wait per runtime")
      ->envname("GGUFD_QUEUE_CAPACITY")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--keepalive-time-ms", o.keepalive_time_ms,
                  "HTTP/2 keepalive ping interval")
      ->envname("GGUFD_KEEPALIVE_TIME_MS")
      ->check(CLI::Range(1000, 3600000))
      ->capture_default_str();
  cmd->add_option("--keepalive-timeout-ms", o.keepalive_timeout_ms,
                  "Close a connection whose ping is unanswered this long")
      ->envname("GGUFD_KEEPALIVE_TIMEOUT_MS")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  AddConnectionFlags(*cmd, o.connections);
  cmd->add_option("--grace-period-ms", flags->grace_period_ms,
                  "On SIGTERM, how long running work may finish")
      ->envname("GGUFD_GRACE_PERIOD_MS")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  cmd->add_flag("--enable-test-hooks", o.enable_test_hooks,
                "Expose ggufd.v1.TestHooks (fault injection; tests only)")
      ->envname("GGUFD_ENABLE_TEST_HOOKS");

  // Security (README "Security").
  cmd->add_option("--tls-cert", o.tls.cert_file,
                  "PEM certificate chain: serve --listen over TLS")
      ->envname("GGUFD_TLS_CERT");
  cmd->add_option("--tls-key", o.tls.key_file, "PEM private key of --tls-cert")
      ->envname("GGUFD_TLS_KEY");
  cmd->add_option("--tls-client-ca", o.tls.client_ca_file,
                  "PEM CA bundle: verify client certificates (mTLS)")
      ->envname("GGUFD_TLS_CLIENT_CA");
  cmd->add_option("--tls-client-auth", flags->client_auth,
                  "With --tls-client-ca: 'required' refuses clients without "
                  "a certificate, 'optional' verifies one when sent")
      ->envname("GGUFD_TLS_CLIENT_AUTH")
      ->check(CLI::IsMember({"required", "optional"}))
      ->capture_default_str();
  cmd->add_option("--tls-reload-interval-s", o.tls.reload_interval_s,
                  "How often the certificate files are read again (new "
                  "connections get the new ones)")
      ->envname("GGUFD_TLS_RELOAD_INTERVAL_S")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--auth-file", o.auth_file,
                  "Bearer-token hashes and client-certificate identities "
                  "with roles (inference, admin); read again when it changes")
      ->envname("GGUFD_AUTH_FILE");
  cmd->add_flag("--disable-reflection", flags->disable_reflection,
                "Do not serve gRPC reflection (admin-only with --auth-file)")
      ->envname("GGUFD_DISABLE_REFLECTION");
  cmd->add_flag("--disable-channelz", flags->disable_channelz,
                "Do not serve channelz (admin-only with --auth-file)")
      ->envname("GGUFD_DISABLE_CHANNELZ");
  cmd->add_option("--health-listen", o.health_listen,
                  "Plaintext address serving only grpc.health.v1, for the "
                  "kubelet's gRPC probe (it does not do TLS)")
      ->envname("GGUFD_HEALTH_LISTEN");
  // The OpenAI-compatible HTTP API (README "OpenAI-compatible HTTP").
  auto* http_port =
      cmd->add_option("--http-port", o.http_port,
                      "OpenAI-compatible HTTP API on this port of the "
                      "--listen host (0 = any free port, -1 = off)")
          ->envname("GGUFD_HTTP_PORT")
          ->check(CLI::Range(-1, 65535))
          ->capture_default_str();
  cmd->add_option("--http-listen", o.http_listen,
                  "OpenAI-compatible HTTP API on this host:port instead")
      ->envname("GGUFD_HTTP_LISTEN")
      ->excludes(http_port);
  cmd->add_option("--http-max-connections", o.http_max_connections,
                  "HTTP connections served at once (a thread each); one "
                  "more waits a second for a free one, then gets 503")
      ->envname("GGUFD_HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  // Proxyless service mesh (README "Deploy").
  cmd->add_flag("--xds", o.xds,
                "Serve through gRPC's xDS server: accept calls only while "
                "the control plane in the xDS bootstrap provides a Listener "
                "for --listen (a fixed port); TLS flags become the fallback "
                "credentials")
      ->envname("GGUFD_XDS");
  cmd->add_option("--xds-bootstrap", o.xds_bootstrap,
                  "xDS bootstrap file for --xds (default: gRPC's "
                  "GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG)")
      ->envname("GGUFD_XDS_BOOTSTRAP");

  // Limits.
  security::RequestLimits& l = o.limits;
  cmd->add_option("--max-receive-message-bytes", l.max_receive_message_bytes,
                  "Largest request message, e.g. 4MiB (refused with reason "
                  "MESSAGE_TOO_LARGE)")
      ->envname("GGUFD_MAX_RECEIVE_MESSAGE_BYTES")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--max-prompt-tokens", l.max_prompt_tokens,
                  "Prompt tokens per Generate (a session turn: the tokens it "
                  "adds), checked before queueing for token-id prompts and "
                  "once tokenized for text and chat (0 = the context's)")
      ->envname("GGUFD_MAX_PROMPT_TOKENS")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", l.max_new_tokens,
                  "Tokens one Generate may produce; larger max_tokens are "
                  "refused, unset and 0 run to it (0 = the context's)")
      ->envname("GGUFD_MAX_NEW_TOKENS")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--max-runtimes", l.max_runtimes,
                  "Runtimes that may exist, the default one included")
      ->envname("GGUFD_MAX_RUNTIMES")
      ->check(CLI::Range(size_t{1}, RuntimeRegistry::kMaxRuntimes))
      ->capture_default_str();
  cmd->add_option("--max-concurrent-streams", l.max_concurrent_streams,
                  "HTTP/2 streams one connection may have open; clients "
                  "queue calls beyond it")
      ->envname("GGUFD_MAX_CONCURRENT_STREAMS")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->callback([flags] { ExitCode() = Serve(*flags); });
}

}  // namespace ggufd::cli
