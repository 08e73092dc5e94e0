// `ggufd serve`: run the gRPC server until SIGTERM or SIGINT, then drain.
// Every flag has an environment variable (GGUFD_LISTEN, ...) for container
// deployments; a flag on the command line wins.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "service/cli/commands.h"
#include "service/json_log.h"
#include "service/server.h"

namespace ggufd::cli {
namespace {

struct ServeFlags {
  ServerOptions server;
  int grace_period_ms = 30000;
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
  cmd->add_option("--grace-period-ms", flags->grace_period_ms,
                  "On SIGTERM, how long running work may finish")
      ->envname("GGUFD_GRACE_PERIOD_MS")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  cmd->add_flag("--enable-test-hooks", o.enable_test_hooks,
                "Expose ggufd.v1.TestHooks (fault injection; tests only)")
      ->envname("GGUFD_ENABLE_TEST_HOOKS");
  cmd->callback([flags] { ExitCode() = Serve(*flags); });
}

}  // namespace ggufd::cli
