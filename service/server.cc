#include "service/server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <thread>

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/channelz_service_plugin.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "runtime/common/str_cat.h"
#include "service/active_requests.h"
#include "service/diagnostics_service.h"
#include "service/http/openai_http_door.h"
#include "service/inference_service.h"
#include "service/metrics/metrics_http_server.h"
#include "service/model_path.h"
#include "service/runtime_registry.h"
#include "service/runtime_service.h"
#include "service/security/access_guard.h"
#include "service/security/admin_only_interceptor.h"
#include "service/security/guarded_services.h"
#include "service/security/listen_address.h"
#include "service/security/principals.h"
#include "service/security/session_owners.h"
#include "service/service_metrics.h"
#include "service/service_state.h"
#include "service/sessions_service.h"
#include "service/test_hooks_service.h"
#include "service/xds_serving.h"

namespace ggufd {
namespace {

// The health service name that is SERVING only while the default runtime
// has a usable model.
constexpr char kInferenceService[] = "ggufd.v1.Inference";

bool Ready(const WorkerSnapshot& s) {
  return s.alive && s.diagnostics.model_loaded && !s.diagnostics.poisoned;
}

std::string HostOf(const std::string& listen) {
  const std::string_view host = security::ListenHost(listen);
  return host.empty() ? "0.0.0.0" : std::string(host);
}

// Says loudly when the server can be reached beyond this machine without
// authentication, or when bearer tokens would cross the network in clear.
void WarnAboutExposure(const ServerOptions& options, JsonLog& log) {
  if (security::IsLoopbackListen(options.listen)) return;
  const bool certificates_required =
      options.tls.mutual() && options.tls.client_cert_required;
  if (options.auth_file.empty() && !certificates_required) {
    log.Warn(
        "SECURITY WARNING: no authentication on a non-loopback address",
        {{"address", options.listen},
         {"risk",
          "anyone who can reach this port can load models, read and delete "
          "sessions, cancel requests and use the runtimes"},
         {"fix",
          "--auth-file (bearer tokens with roles), or --tls-client-ca with "
          "required client certificates, or listen on 127.0.0.1"}});
  } else if (options.auth_file.empty()) {
    log.Info("every client with a certificate from the client CA is admin",
             {{"client_ca", options.tls.client_ca_file}});
  }
  if (!options.auth_file.empty() && !options.tls.enabled()) {
    log.Warn("SECURITY WARNING: bearer tokens travel in clear text",
             {{"address", options.listen},
              {"fix", "--tls-cert and --tls-key, or a mesh that encrypts"}});
  }
  if (options.enable_test_hooks) {
    log.Warn("SECURITY WARNING: test hooks are on (fault injection)",
             {{"address", options.listen}});
  }
}

// Where the HTTP API listens: --http-listen, else --http-port on the gRPC
// listen host (loopback for a unix socket); "" when it is off.
std::string HttpAddress(const ServerOptions& options) {
  if (!options.http_listen.empty()) return options.http_listen;
  if (options.http_port < 0) return "";
  std::string host(security::ListenHost(options.listen));
  if (options.listen.starts_with("unix")) host = "127.0.0.1";
  if (host.empty()) host = "0.0.0.0";
  if (host.find(':') != std::string::npos) host = StrCat("[", host, "]");
  return StrCat(host, ":", options.http_port);
}

// The HTTP API has no TLS and sees no client certificate: the same
// warnings as the gRPC port, and no start where certificates are the only
// authentication (HTTP callers would skip it).
absl::Status CheckHttpExposure(const ServerOptions& options,
                               const std::string& address, JsonLog& log) {
  if (options.auth_file.empty() && options.tls.mutual()) {
    return absl::FailedPreconditionError(
        "the HTTP API cannot check client certificates: with "
        "--tls-client-ca, give an --auth-file (HTTP callers send bearer "
        "tokens) or leave --http-port off");
  }
  if (security::IsLoopbackListen(address)) return absl::OkStatus();
  if (options.auth_file.empty()) {
    log.Warn("SECURITY WARNING: no authentication on a non-loopback address",
             {{"address", address},
              {"risk", "anyone who can reach this port can use the runtimes"},
              {"fix",
               "--auth-file (bearer tokens), or --http-listen on "
               "127.0.0.1"}});
  } else {
    log.Warn("SECURITY WARNING: bearer tokens travel in clear text",
             {{"address", address},
              {"fix",
               "the HTTP API is plaintext: terminate TLS in a proxy "
               "or mesh in front of it"}});
  }
  return absl::OkStatus();
}

// Drops gRPC's builder plugins whose name contains one of `names` (the
// reflection and channelz plugins register themselves for every server).
class WithoutPlugins final : public grpc::ServerBuilderOption {
 public:
  explicit WithoutPlugins(std::vector<std::string> names)
      : names_(std::move(names)) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    std::erase_if(*plugins, [this](const auto& plugin) {
      const std::string name = plugin->name();
      return std::any_of(names_.begin(), names_.end(), [&](const auto& n) {
        return name.find(n) != std::string::npos;
      });
    });
  }

 private:
  const std::vector<std::string> names_;
};

}  // namespace

struct Server::Impl {
  // A start that fails half-way destroys this with workers still running:
  // they publish a last snapshot into it, so they go first.
  ~Impl() {
    http.reset();  // its calls use everything below
    StopSweeper();
    {
      std::lock_guard<std::mutex> lock(health_mu);
      health.clear();
    }
    registry.reset();
  }

  JsonLog* log = nullptr;
  ServiceMetrics metrics;
  ActiveRequests requests;
  std::unique_ptr<ModelDirectory> models;
  std::unique_ptr<ModelDirectory> state_dir;
  ServiceState state;
  // Health is updated from worker threads; the health service may not exist
  // yet while the default model loads at start.
  std::mutex health_mu;
  // The main port's health service, and the health-only port's.
  std::vector<grpc::HealthCheckServiceInterface*> health;
  bool default_ready = false;
  std::unique_ptr<RuntimeRegistry> registry;
  std::unique_ptr<InferenceService> inference;
  std::unique_ptr<RuntimeService> runtime_service;
  std::unique_ptr<SessionsService> sessions_service;
  std::unique_ptr<DiagnosticsService> diagnostics;
  // Drops idle sessions past their TTL on runtimes nobody is using.
  std::thread sweeper;
  std::mutex sweeper_mu;
  std::condition_variable sweeper_cv;
  bool sweeper_stop = false;
  std::unique_ptr<TestHooksService> test_hooks;
  // Authentication, authorization and limits, in front of the services.
  std::unique_ptr<security::PrincipalStore> principals;
  std::unique_ptr<security::AccessGuard> access;
  security::SessionOwners session_owners;
  std::unique_ptr<security::Guards> guards;
  std::vector<std::unique_ptr<grpc::Service>> guarded;
  // With --xds; outlives the server, which reports to it.
  std::unique_ptr<XdsServingStatusLog> xds_status;
  std::unique_ptr<grpc::Server> server;
  grpc::CallbackGenericService health_generic;
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_http;
  std::unique_ptr<http::OpenAiHttpDoor> http;
  int port = 0;

  void OnSnapshot(const WorkerSnapshot& snapshot) {
    metrics.UpdateWorker(snapshot);
    if (snapshot.name != RuntimeRegistry::kDefaultName) return;
    std::lock_guard<std::mutex> lock(health_mu);
    default_ready = Ready(snapshot);
    if (!state.draining.load()) {
      for (auto* h : health) {
        h->SetServingStatus(kInferenceService, default_ready);
      }
    }
  }

  // Every half TTL (1 s to 30 s), so a session outlives it by at most that.
  void Sweep(int32_t ttl_seconds) {
    const auto interval =
        std::chrono::seconds(std::clamp(ttl_seconds / 2, 1, 30));
    std::unique_lock<std::mutex> lock(sweeper_mu);
    while (
        !sweeper_cv.wait_for(lock, interval, [this] { return sweeper_stop; })) {
      for (const auto& worker : registry->List()) {
        const WorkerSnapshot s = worker->Snapshot();
        if (!s.alive || s.diagnostics.session_stats.sessions == 0) continue;
        Command command;
        command.operation = "expire_sessions";
        command.run = [](Runtime& runtime, const CommandContext&) {
          runtime.ExpireSessions();
        };
        command.drop = [](const absl::Status&) {};
        // A full queue means the runtime is busy; its turns expire too.
        (void)worker->Post(command);
      }
    }
  }

  void StopSweeper() {
    {
      std::lock_guard<std::mutex> lock(sweeper_mu);
      sweeper_stop = true;
    }
    sweeper_cv.notify_all();
    if (sweeper.joinable()) sweeper.join();
  }

  // Waits (on this, the draining thread) until no runtime has work.
  bool WaitIdle(absl::Time until) {
    while (absl::Now() < until) {
      bool idle = requests.size() == 0;
      for (const auto& worker : registry->List()) {
        const WorkerSnapshot s = worker->Snapshot();
        if (s.alive && (!s.running_operation.empty() || s.queue_depth > 0)) {
          idle = false;
        }
      }
      if (idle) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_->server) Drain(absl::ZeroDuration());
}

int Server::port() const { return impl_->port; }

int Server::metrics_port() const {
  return impl_->metrics_http ? impl_->metrics_http->port() : -1;
}

int Server::health_port() const { return impl_->health_port; }

int Server::http_port() const { return impl_->http ? impl_->http->port() : -1; }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, JsonLog& log) {
  auto impl = std::make_unique<Impl>();
  Impl* self = impl.get();
  self->log = &log;
  // Before any thread starts: it may set GRPC_XDS_BOOTSTRAP.
  if (options.xds) {
    if (absl::Status s =
            PrepareXdsBootstrap(options.xds_bootstrap, options.listen);
        !s.ok()) {
      return s;
    }
  }
  auto models = ModelDirectory::Open(
      options.model_dir.empty() ? std::string(".") : options.model_dir);
  if (!models.ok()) return models.status();
  self->models = std::make_unique<ModelDirectory>(std::move(*models));
  if (!options.state_dir.empty()) {
    auto state_dir = ModelDirectory::Open(options.state_dir, "state");
    if (!state_dir.ok()) return state_dir.status();
    self->state_dir = std::make_unique<ModelDirectory>(std::move(*state_dir));
    self->state.state_dir = self->state_dir.get();
  }
  self->state.sessions = options.sessions;
  // Certificates and the auth file are read before anything loads, so a
  // mistake in them stops the server at once.
  if (absl::Status s = security::CheckTlsFiles(options.tls); !s.ok()) return s;
  if (!options.auth_file.empty()) {
    auto principals = security::PrincipalStore::Open(options.auth_file, &log);
    if (!principals.ok()) return principals.status();
    self->principals = std::move(*principals);
  }
  self->registry = std::make_unique<RuntimeRegistry>(RuntimeRegistry::Options{
      .queue_capacity = options.queue_capacity,
      .max_runtimes = options.limits.max_runtimes,
      .on_snapshot = [self](const WorkerSnapshot& s) { self->OnSnapshot(s); }});
  self->state.registry = self->registry.get();
  self->state.requests = &self->requests;
  self->state.metrics = &self->metrics;
  self->state.models = self->models.get();
  self->state.log = &log;
  self->state.context_length = options.context_length;
  self->state.threads = options.threads;
  self->state.max_new_tokens = options.limits.max_new_tokens;
  self->state.max_prompt_tokens = options.limits.max_prompt_tokens;

  // The startup model loads before the port opens, so a listening server
  // is a ready one (when a model was given).
  if (!options.model.empty()) {
    auto worker = self->registry->Find(RuntimeRegistry::kDefaultName);
    if (!worker.ok()) return worker.status();
    std::promise<absl::Status> done;
    Command command;
    command.operation = "load";
    command.run = [&](Runtime& runtime, const CommandContext&) {
      done.set_value(
          runtime.Load(options.model, {.context_length = options.context_length,
                                       .threads = options.threads,
                                       .sessions = options.sessions}));
    };
    command.drop = [&](const absl::Status& why) { done.set_value(why); };
    const absl::Time start = absl::Now();
    if (absl::Status s = (*worker)->Post(command); !s.ok()) return s;
    if (absl::Status s = done.get_future().get(); !s.ok()) return s;
    log.Info("model loaded",
             {{"runtime", "default"},
              {"model", options.model},
              {"ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
  }

  self->inference = std::make_unique<InferenceService>(self->state);
  self->runtime_service = std::make_unique<RuntimeService>(self->state);
  self->sessions_service = std::make_unique<SessionsService>(self->state);
  self->diagnostics = std::make_unique<DiagnosticsService>(self->state);
  if (options.enable_test_hooks) {
    self->test_hooks = std::make_unique<TestHooksService>(self->state);
  }
  self->access = std::make_unique<security::AccessGuard>(
      security::AccessGuard::Options{
          .principals = self->principals.get(),
          .max_message_bytes = options.limits.max_receive_message_bytes},
      self->metrics, log);
  self->state.caller_name =
      [access = self->access.get()](const grpc::ServerContextBase& context) {
        auto caller = access->Identify(context);
        return caller.ok() ? caller->name : std::string();
      };
  self->guards.reset(new security::Guards{.state = self->state,
                                          .access = *self->access,
                                          .owners = self->session_owners,
                                          .limits = options.limits});
  // Only the guarded services are registered: each runs the access checks
  // and limits, then the service that does the work.
  security::Guards& guards = *self->guards;
  self->guarded.push_back(
      std::make_unique<security::GuardedInference>(*self->inference, guards));
  self->guarded.push_back(std::make_unique<security::GuardedRuntime>(
      *self->runtime_service, guards));
  self->guarded.push_back(std::make_unique<security::GuardedSessions>(
      *self->sessions_service, guards));
  self->guarded.push_back(std::make_unique<security::GuardedDiagnostics>(
      *self->diagnostics, guards));
  if (self->test_hooks) {
    self->guarded.push_back(std::make_unique<security::GuardedTestHooks>(
        *self->test_hooks, guards));
  }

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service has no protobuf descriptor of its own;
  // linking ours lets reflection (grpcurl) describe it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::channelz::experimental::InitChannelzService();
  std::shared_ptr<grpc::ServerCredentials> credentials =
      options.tls.enabled() ? security::MakeTlsServerCredentials(options.tls)
                            : grpc::InsecureServerCredentials();
  std::unique_ptr<grpc::ServerBuilder> main_builder;
  if (options.xds) {
    // The credentials keep gRPC initialized for the bootstrap check.
    self->xds_status = std::make_unique<XdsServingStatusLog>(log);
    auto xds = MakeXdsServerBuilder(self->xds_status.get());
    if (!xds.ok()) return xds.status();
    main_builder = std::move(*xds);
    credentials = XdsCredentialsOver(credentials);
  } else {
    main_builder = std::make_unique<grpc::ServerBuilder>();
  }
  grpc::ServerBuilder& builder = *main_builder;
  builder.AddListeningPort(options.listen, credentials, &self->port);
  std::vector<std::string> without;
  if (!options.reflection) without.push_back("reflection");
  if (!options.channelz) without.push_back("channelz");
  if (!without.empty()) {
    builder.SetOption(std::make_unique<WithoutPlugins>(std::move(without)));
  }
  if (self->access->enabled() && (options.reflection || options.channelz)) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<security::AdminOnlyInterceptorFactory>(*self->access));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  // gRPC drops what is far too large before parsing it; the guard refuses
  // what is above the limit with a reason of its own (request_limits.h).
  const size_t limit = options.limits.max_receive_message_bytes;
  builder.SetMaxReceiveMessageSize(
      limit == 0 ? -1
                 : static_cast<int>(std::min<size_t>(2 * limit, INT32_MAX)));
  if (options.limits.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               options.limits.max_concurrent_streams);
  }
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             options.keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             options.keepalive_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Connection age and idle limits, and how often clients may ping.
  options.connections.AddTo(builder);
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 1);
  for (const auto& service : self->guarded) {
    builder.RegisterService(service.get());
  }
  self->server = builder.BuildAndStart();
  // An xDS server binds its port only once a Listener arrives and reports
  // none to the builder; --xds requires a fixed one, which is the port.
  if (options.xds) self->port = security::ListenPort(options.listen);
  if (self->server == nullptr || self->port == 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", options.listen));
  }
  if (!options.health_listen.empty()) {
    // Plaintext and health only: the kubelet's gRPC probe does not do TLS
    // (nor send tokens), and nothing else is reachable here.
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options.health_listen,
                                    grpc::InsecureServerCredentials(),
                                    &self->health_port);
    health_builder.SetOption(std::make_unique<WithoutPlugins>(
        std::vector<std::string>{"reflection", "channelz"}));
    health_builder.SetMaxReceiveMessageSize(4096);
    // gRPC adds its health service only once the server starts, and will
    // not build a server with nothing to serve: the generic service (every
    // other method answers UNIMPLEMENTED, as without it) is that something.
    health_builder.RegisterCallbackGenericService(&self->health_generic);
    self->health_server = health_builder.BuildAndStart();
    if (self->health_server == nullptr || self->health_port == 0) {
      return absl::UnavailableError(
          StrCat("cannot listen on ", options.health_listen));
    }
  }
  {
    std::lock_guard<std::mutex> lock(self->health_mu);
    self->health.push_back(self->server->GetHealthCheckService());
    if (self->health_server) {
      self->health.push_back(self->health_server->GetHealthCheckService());
    }
    for (auto* h : self->health) {
      h->SetServingStatus("", true);
      h->SetServingStatus(kInferenceService, self->default_ready);
    }
  }
  WarnAboutExposure(options, log);
  if (const std::string address = HttpAddress(options); !address.empty()) {
    if (absl::Status s = CheckHttpExposure(options, address, log); !s.ok()) {
      return s;
    }
    const int port = security::ListenPort(address);
    const std::string_view host = security::ListenHost(address);
    if (host.empty() || (port == 0 && !address.ends_with(":0"))) {
      return absl::InvalidArgumentError(
          StrCat("--http-listen must be host:port, not ", address));
    }
    const size_t limit = options.limits.max_receive_message_bytes;
    auto door = http::OpenAiHttpDoor::Start(
        {.host = std::string(host),
         .port = port,
         .limits = {.max_connections = options.http_max_connections,
                    .max_body_bytes = limit == 0 ? size_t{4} << 20 : limit}},
        self->state, *self->guards);
    if (!door.ok()) return door.status();
    self->http = std::move(*door);
  }

  if (options.metrics_port >= 0) {
    auto http = metrics::MetricsHttpServer::Start(
        HostOf(options.listen), options.metrics_port, self->metrics.registry());
    if (!http.ok()) return http.status();
    self->metrics_http = std::move(*http);
  }
  // Queue depths change between commands too: read them at scrape time.
  self->metrics.registry().AddCollector([self] {
    std::vector<WorkerSnapshot> snapshots;
    for (const auto& worker : self->registry->List()) {
      snapshots.push_back(worker->Snapshot());
    }
    self->metrics.UpdateRuntimes(snapshots);
  });
  self->sweeper = std::thread(
      [self, ttl = options.sessions.ttl_seconds] { self->Sweep(ttl); });
  log.Info(
      "listening",
      {{"address", options.listen},
       {"port", self->port},
       {"metrics_port", self->metrics_http ? self->metrics_http->port() : -1},
       {"health_port", self->health_port},
       {"http_port", self->http ? self->http->port() : -1},
       {"xds", options.xds},
       {"tls", options.tls.enabled()},
       {"mtls",
        options.tls.mutual()
            ? (options.tls.client_cert_required ? "required" : "optional")
            : "off"},
       {"auth", self->access->enabled()},
       {"model_dir", self->models->root()},
       {"test_hooks", options.enable_test_hooks}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Drain(absl::Duration grace) {
  Impl& self = *impl_;
  if (!self.server) return;
  const absl::Time start = absl::Now();
  self.log->Info("draining", {{"grace_ms", absl::ToDoubleMilliseconds(grace)},
                              {"in_flight", self.requests.size()}});
  {
    std::lock_guard<std::mutex> lock(self.health_mu);
    self.state.draining.store(true);
    self.state.WakeSleepers();
    for (auto* h : self.health) h->SetServingStatus(false);
  }
  if (self.http) self.http->BeginDrain();
  const bool idle = self.WaitIdle(start + grace);
  if (!idle) {
    self.log->Warn("grace period over: cancelling",
                   {{"in_flight", self.requests.size()}});
    self.requests.CancelAll();
  }
  if (self.test_hooks) self.test_hooks->ResumeAll();
  self.StopSweeper();
  // Running generations stop within one token and end their streams; what
  // is still queued is refused as the workers stop.
  self.registry->StopAll();
  self.server->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
  // The HTTP calls end as their generations did; then its port closes.
  if (self.http) self.http->Stop(absl::Seconds(5));
  {
    std::lock_guard<std::mutex> lock(self.health_mu);
    self.health.clear();
  }
  self.server.reset();
  // The probe port answers NOT_SERVING until the main port is gone.
  if (self.health_server) {
    self.health_server->Shutdown(std::chrono::system_clock::now());
    self.health_server.reset();
  }
  self.metrics_http.reset();
  self.registry.reset();
  self.log->Info(
      "stopped",
      {{"drain_ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
}

}  // namespace ggufd
