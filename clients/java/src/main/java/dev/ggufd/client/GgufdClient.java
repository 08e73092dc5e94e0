package dev.ggufd.client;

import dev.ggufd.v1.CancelRequest;
import dev.ggufd.v1.CancelResponse;
import dev.ggufd.v1.ChatMessage;
import dev.ggufd.v1.ChatPrompt;
import dev.ggufd.v1.CreateRuntimeRequest;
import dev.ggufd.v1.DeleteRuntimeRequest;
import dev.ggufd.v1.DeleteSessionRequest;
import dev.ggufd.v1.DetokenizeRequest;
import dev.ggufd.v1.DiagnosticsGrpc;
import dev.ggufd.v1.EmbedRequest;
import dev.ggufd.v1.ForkSessionRequest;
import dev.ggufd.v1.GenerateEvent;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.GetStatusRequest;
import dev.ggufd.v1.InferenceGrpc;
import dev.ggufd.v1.ListSessionsRequest;
import dev.ggufd.v1.ListSessionsResponse;
import dev.ggufd.v1.LoadModelEvent;
import dev.ggufd.v1.LoadModelRequest;
import dev.ggufd.v1.ModelInfo;
import dev.ggufd.v1.Pooling;
import dev.ggufd.v1.ResetRequest;
import dev.ggufd.v1.RestoreSessionRequest;
import dev.ggufd.v1.RuntimeGrpc;
import dev.ggufd.v1.RuntimeInfo;
import dev.ggufd.v1.RuntimeStatus;
import dev.ggufd.v1.SaveSessionRequest;
import dev.ggufd.v1.SaveSessionResponse;
import dev.ggufd.v1.SessionInfo;
import dev.ggufd.v1.SessionsGrpc;
import dev.ggufd.v1.StoppingParams;
import dev.ggufd.v1.TokenizeRequest;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.CompositeChannelCredentials;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleConsumer;
import java.util.function.Supplier;

/**
 * A small client for ggufd over the generated grpc-java stubs.
 *
 * <p>Every call throws {@link GgufdException} on failure. A client is immutable and thread-safe;
 * {@link #withDeadline(Duration)} derives one that shares the channel and puts a deadline on each
 * call it starts. The channel built by {@link #builder(String)} carries a default service config
 * that retries UNAVAILABLE and RESOURCE_EXHAUSTED (ggufd refuses with those before any response
 * header, so a retry never repeats work; its limit refusals, RESOURCE_EXHAUSTED too, carry the
 * {@code grpc-retry-pushback-ms: -1} trailer that stops gRPC's retry). The channel is plaintext
 * unless the builder is given TLS options, and sends a bearer token on every call when given one.
 *
 * <pre>{@code
 * try (GgufdClient client = GgufdClient.connect("127.0.0.1:50051")) {
 *   client.loadModel("SmolLM2-135M-Instruct.Q4_1.gguf");
 *   System.out.println(client.generateText("Once upon a time", 32));
 * }
 * }</pre>
 */
public final class GgufdClient implements AutoCloseable {
  /** The runtime an empty name means. */
  public static final String DEFAULT_RUNTIME = "default";

  /** The health service name that is SERVING while the default runtime has a usable model. */
  public static final String INFERENCE_SERVICE = "ggufd.v1.Inference";

  private final Channel channel;
  private final ManagedChannel owned;
  private final Duration deadline;

  private GgufdClient(Channel channel, ManagedChannel owned, Duration deadline) {
    this.channel = channel;
    this.owned = owned;
    this.deadline = deadline;
  }

  /** A client for {@code target} ("host:port") with the defaults of {@link Builder}. */
  public static GgufdClient connect(String target) {
    return builder(target).build();
  }

  public static Builder builder(String target) {
    return new Builder(target);
  }

  /**
   * A client over a channel the caller built and owns ({@link #close()} leaves it open). The
   * caller's channel decides retries and service config.
   */
  public static GgufdClient wrap(Channel channel) {
    return new GgufdClient(Objects.requireNonNull(channel), null, null);
  }

  /**
   * Builds the channel: plaintext by default, retries on, no default deadline, no token.
   *
   * <p>TLS: {@link #tls()} (the JVM's trusted roots), {@link #tlsCa} (a CA bundle instead), {@link
   * #tlsClientCertificate} (mTLS) and {@link #tlsServerName}; any of them turns TLS on. Tokens:
   * {@link #token}, {@link #tokenFile} or {@link #tokenSource}, sent as {@code authorization:
   * Bearer <token>} on every call (over TLS or plaintext).
   */
  public static final class Builder {
    private final String target;
    private ChannelCredentials credentials;
    private boolean tls;
    private byte[] tlsCa;
    private byte[] tlsCertChain;
    private byte[] tlsKey;
    private String tlsServerName;
    private BearerToken token;
    private Duration deadline;
    private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
    private final List<ClientInterceptor> interceptors = new ArrayList<>();

    private Builder(String target) {
      this.target = Objects.requireNonNull(target);
    }

    /**
     * Channel credentials of the caller's making instead of plaintext (not together with the tls*
     * options, which build TlsChannelCredentials themselves). A token is added to them.
     */
    public Builder credentials(ChannelCredentials credentials) {
      this.credentials = Objects.requireNonNull(credentials);
      return this;
    }

    /** TLS, verifying the server against the JVM's trusted roots unless {@link #tlsCa} is set. */
    public Builder tls() {
      this.tls = true;
      return this;
    }

    /** TLS, trusting only the PEM CA certificates in {@code caFile} (like ggufctl --tls-ca). */
    public Builder tlsCa(Path caFile) throws IOException {
      return tlsCa(Files.readAllBytes(caFile));
    }

    /** TLS, trusting only the PEM CA certificates in {@code caPem}. */
    public Builder tlsCa(byte[] caPem) {
      this.tlsCa = caPem.clone();
      this.tls = true;
      return this;
    }

    /**
     * mTLS: presents the PEM certificate chain and its unencrypted PKCS#8 private key ("BEGIN
     * PRIVATE KEY", as openssl 3 writes; like ggufctl --tls-cert/--tls-key). Turns TLS on.
     */
    public Builder tlsClientCertificate(Path certChainFile, Path keyFile) throws IOException {
      return tlsClientCertificate(Files.readAllBytes(certChainFile), Files.readAllBytes(keyFile));
    }

    /** mTLS from PEM bytes; see {@link #tlsClientCertificate(Path, Path)}. */
    public Builder tlsClientCertificate(byte[] certChainPem, byte[] keyPem) {
      this.tlsCertChain = certChainPem.clone();
      this.tlsKey = keyPem.clone();
      this.tls = true;
      return this;
    }

    /**
     * The name the server's certificate is checked against and sent as SNI and :authority,
     * instead of the target's host (like ggufctl --tls-server-name): for dialing an address whose
     * certificate names something else. Turns TLS on, unless {@link #credentials} gave other
     * credentials (then it only sets the authority).
     */
    public Builder tlsServerName(String name) {
      this.tlsServerName = Objects.requireNonNull(name);
      return this;
    }

    /** Sends {@code authorization: Bearer <token>} on every call (like ggufctl --token). */
    public Builder token(String token) {
      this.token = BearerToken.of(token);
      return this;
    }

    /**
     * The token in {@code file}, read now, surrounding whitespace and the final newline dropped
     * (like ggufctl --token-file).
     */
    public Builder tokenFile(Path file) throws IOException {
      return token(Files.readString(file, StandardCharsets.UTF_8).strip());
    }

    /** Asks {@code source} for the token at every call, for tokens that rotate. */
    public Builder tokenSource(Supplier<String> source) {
      this.token = BearerToken.from(source);
      return this;
    }

    /** A deadline applied to every call that does not get its own through withDeadline. */
    public Builder defaultDeadline(Duration deadline) {
      this.deadline = deadline;
      return this;
    }

    /** The retry policy put into the default service config; null turns retries off. */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = policy;
      return this;
    }

    /** Interceptors for every call (metadata, tracing, metrics). */
    public Builder intercept(ClientInterceptor... interceptors) {
      this.interceptors.addAll(List.of(interceptors));
      return this;
    }

    public GgufdClient build() {
      ManagedChannelBuilder<?> builder = Grpc.newChannelBuilder(target, channelCredentials());
      if (tlsServerName != null) {
        builder.overrideAuthority(tlsServerName);
      }
      if (retryPolicy != null) {
        builder
            .defaultServiceConfig(retryPolicy.serviceConfig())
            .maxRetryAttempts(retryPolicy.maxAttempts())
            .enableRetry();
      } else {
        builder.disableRetry();
      }
      builder.intercept(interceptors);
      ManagedChannel channel = builder.build();
      return new GgufdClient(channel, channel, deadline);
    }

    private ChannelCredentials channelCredentials() {
      if (tls && credentials != null) {
        throw new IllegalStateException(
            "credentials(...) and tls(), tlsCa or tlsClientCertificate exclude each other");
      }
      ChannelCredentials transport = credentials;
      if (transport == null) {
        transport =
            tls || tlsServerName != null ? tlsCredentials() : InsecureChannelCredentials.create();
      }
      // On the channel rather than on each stub, so stubs made over channel() send it too.
      return token == null ? transport : CompositeChannelCredentials.create(transport, token);
    }

    private ChannelCredentials tlsCredentials() {
      TlsChannelCredentials.Builder tlsBuilder = TlsChannelCredentials.newBuilder();
      try {
        if (tlsCa != null) {
          tlsBuilder.trustManager(new ByteArrayInputStream(tlsCa));
        }
        if (tlsCertChain != null) {
          tlsBuilder.keyManager(
              new ByteArrayInputStream(tlsCertChain), new ByteArrayInputStream(tlsKey));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e); // in-memory streams do not fail
      }
      return tlsBuilder.build();
    }
  }

  /** The same client whose calls each get {@code timeout} from their start. */
  public GgufdClient withDeadline(Duration timeout) {
    return new GgufdClient(channel, null, Objects.requireNonNull(timeout));
  }

  /** The same client without a deadline. */
  public GgufdClient withoutDeadline() {
    return new GgufdClient(channel, null, null);
  }

  /** The channel, for stubs this class does not wrap (e.g. TestHooks, WatchStatus). */
  public Channel channel() {
    return channel;
  }

  private <S extends AbstractStub<S>> S prepare(S stub) {
    return deadline == null
        ? stub
        : stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  private InferenceGrpc.InferenceBlockingStub inference() {
    return prepare(InferenceGrpc.newBlockingStub(channel));
  }

  private RuntimeGrpc.RuntimeBlockingStub runtime() {
    return prepare(RuntimeGrpc.newBlockingStub(channel));
  }

  private SessionsGrpc.SessionsBlockingStub sessions() {
    return prepare(SessionsGrpc.newBlockingStub(channel));
  }

  private static <T> T call(Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw GgufdException.from(e);
    }
  }

  // ---- Inference -------------------------------------------------------------------------

  /**
   * Starts a Generate call and returns its events as a blocking iterator; close it (or call cancel)
   * to cancel the generation on the server.
   */
  public GenerateStream generate(GenerateRequest request) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      // The call binds to the context current when it starts, so cancelling the context
      // cancels the call.
      Iterator<GenerateEvent> events = inference().generate(request);
      return new GenerateStream(context, events);
    } catch (StatusRuntimeException e) {
      context.cancel(e);
      throw GgufdException.from(e);
    } finally {
      context.detach(previous);
    }
  }

  /** Runs a Generate call to the end and folds it into one {@link Generation}. */
  public Generation complete(GenerateRequest request) {
    try (GenerateStream stream = generate(request)) {
      return stream.collect();
    }
  }

  /** The text generated for {@code request}. */
  public String generateText(GenerateRequest request) {
    return complete(request).text();
  }

  /** The text generated from a plain-text prompt, with at most {@code maxTokens} tokens. */
  public String generateText(String prompt, int maxTokens) {
    return generateText(
        GenerateRequest.newBuilder()
            .setText(prompt)
            .setStopping(StoppingParams.newBuilder().setMaxTokens(maxTokens))
            .build());
  }

  /**
   * Starts a Generate call whose events go to {@code observer} on a gRPC thread. Errors reach
   * {@code observer.onError} as {@link GgufdException}.
   */
  public AsyncGeneration generateAsync(
      GenerateRequest request, StreamObserver<GenerateEvent> observer) {
    AsyncGeneration handle = new AsyncGeneration();
    prepare(InferenceGrpc.newStub(channel))
        .generate(
            request,
            new ClientResponseObserver<GenerateRequest, GenerateEvent>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                handle.bind(requestStream);
              }

              @Override
              public void onNext(GenerateEvent event) {
                observer.onNext(event);
              }

              @Override
              public void onError(Throwable t) {
                observer.onError(GgufdException.from(t));
              }

              @Override
              public void onCompleted() {
                observer.onCompleted();
              }
            });
    return handle;
  }

  /**
   * Runs a Generate call asynchronously. Cancelling the future cancels the call; a failure
   * completes it exceptionally with a {@link GgufdException}.
   */
  public CompletableFuture<Generation> completeAsync(GenerateRequest request) {
    CompletableFuture<Generation> future = new CompletableFuture<>();
    Generation.Builder builder = new Generation.Builder();
    AsyncGeneration handle =
        generateAsync(
            request,
            new StreamObserver<>() {
              @Override
              public void onNext(GenerateEvent event) {
                builder.add(event);
              }

              @Override
              public void onError(Throwable t) {
                future.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                try {
                  future.complete(builder.build());
                } catch (IllegalStateException e) {
                  future.completeExceptionally(e);
                }
              }
            });
    future.whenComplete(
        (result, error) -> {
          if (future.isCancelled()) {
            handle.cancel();
          }
        });
    return future;
  }

  /** One chat turn, for {@link #chat}. */
  public static ChatMessage message(String role, String content) {
    return ChatMessage.newBuilder().setRole(role).setContent(content).build();
  }

  /**
   * The assistant's answer to {@code messages}, formatted with the model's chat template, with at
   * most {@code maxTokens} tokens (0 = the runtime's default).
   */
  public String chat(List<ChatMessage> messages, int maxTokens) {
    GenerateRequest.Builder request =
        GenerateRequest.newBuilder().setChat(ChatPrompt.newBuilder().addAllMessages(messages));
    if (maxTokens > 0) {
      request.setStopping(StoppingParams.newBuilder().setMaxTokens(maxTokens));
    }
    return generateText(request.build());
  }

  /** Token ids of {@code text} (BOS/EOS as the model's rule says). */
  public List<Integer> tokenize(String text) {
    return tokenize(TokenizeRequest.newBuilder().setText(text).build());
  }

  public List<Integer> tokenize(TokenizeRequest request) {
    return call(() -> inference().tokenize(request).getIdsList());
  }

  /** The text of {@code ids} (invalid UTF-8 replaced by U+FFFD). */
  public String detokenize(List<Integer> ids) {
    return call(
        () ->
            inference()
                .detokenize(DetokenizeRequest.newBuilder().addAllIds(ids).build())
                .getText());
  }

  /** One unit-length embedding vector per text, with the model's own pooling. */
  public Embeddings embed(List<String> texts) {
    return embed(EmbedRequest.newBuilder().addAllTexts(texts).build());
  }

  /**
   * One embedding vector per text: {@code pooling} ({@code POOLING_UNSPECIFIED} = the model's own),
   * scaled to unit L2 norm when {@code normalize}, and a text longer than the context cut to its
   * first tokens when {@code truncate} (INVALID_ARGUMENT otherwise).
   */
  public Embeddings embed(
      List<String> texts, Pooling pooling, boolean normalize, boolean truncate) {
    return embed(
        EmbedRequest.newBuilder()
            .addAllTexts(texts)
            .setPooling(pooling)
            .setNormalize(normalize)
            .setTruncate(truncate)
            .build());
  }

  /**
   * Runs an Embed call (at most 256 texts; queued and admitted like Generate, so a full queue is
   * RESOURCE_EXHAUSTED too).
   */
  public Embeddings embed(EmbedRequest request) {
    return Embeddings.from(call(() -> inference().embed(request)));
  }

  /**
   * Cancels a queued or running Generate by the request_id it was started with (from any client).
   * An unknown or finished id answers found = false.
   */
  public CancelResponse cancel(String requestId) {
    return call(
        () -> inference().cancel(CancelRequest.newBuilder().setRequestId(requestId).build()));
  }

  // ---- Runtime ---------------------------------------------------------------------------

  /** Loads {@code path} (inside the server's model directory) into the default runtime. */
  public ModelInfo loadModel(String path) {
    return loadModel(LoadModelRequest.newBuilder().setPath(path).build(), fraction -> {});
  }

  /**
   * Loads a model, passing each progress fraction in [0, 1] to {@code progress}, and returns the
   * loaded model's info.
   */
  public ModelInfo loadModel(LoadModelRequest request, DoubleConsumer progress) {
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    try {
      Iterator<LoadModelEvent> events = runtime().loadModel(request);
      while (events.hasNext()) {
        LoadModelEvent event = events.next();
        if (event.hasProgress()) {
          progress.accept(event.getProgress().getFraction());
        } else if (event.hasModel()) {
          return event.getModel();
        }
      }
      throw new IllegalStateException("LoadModel stream ended without the model info");
    } catch (StatusRuntimeException e) {
      throw GgufdException.from(e);
    } finally {
      context.detach(previous);
      // Ends the call if we returned before the server closed the stream.
      context.cancel(null);
    }
  }

  /** Clears the runtime's KV cache and a poisoned state; "" means the default runtime. */
  public void reset(String runtime) {
    call(() -> runtime().reset(ResetRequest.newBuilder().setRuntime(runtime).build()));
  }

  /** Starts an empty runtime instance with its own worker and queue. */
  public RuntimeInfo createRuntime(String name) {
    return call(
        () -> runtime().createRuntime(CreateRuntimeRequest.newBuilder().setName(name).build()));
  }

  public void deleteRuntime(String name) {
    call(() -> runtime().deleteRuntime(DeleteRuntimeRequest.newBuilder().setName(name).build()));
  }

  // ---- Sessions --------------------------------------------------------------------------

  /**
   * A handle on the session {@code sessionId} of the default runtime, for multi-turn
   * conversations the server keeps (nothing is sent; the first turn creates the session).
   */
  public Session session(String sessionId) {
    return session("", sessionId);
  }

  /** A handle on the session {@code sessionId} of {@code runtime} ("" = default). */
  public Session session(String runtime, String sessionId) {
    return new Session(this, runtime, sessionId);
  }

  /**
   * The sessions of {@code runtime} ("" = default), most recently used first, with the KV cache
   * bytes they hold and the budget they are kept under. It answers from the snapshot the runtime
   * publishes after each operation (before replying to it, or ending its Generate stream), without
   * queueing behind its work.
   */
  public ListSessionsResponse listSessions(String runtime) {
    return call(
        () ->
            sessions()
                .listSessions(ListSessionsRequest.newBuilder().setRuntime(runtime).build()));
  }

  /** Drops a session (history and KV cache; its saved files stay); false when it did not exist. */
  public boolean deleteSession(String runtime, String sessionId) {
    return call(
        () ->
            sessions()
                .deleteSession(
                    DeleteSessionRequest.newBuilder()
                        .setRuntime(runtime)
                        .setSessionId(sessionId)
                        .build())
                .getFound());
  }

  /**
   * Starts {@code new_session_id} from a copy of {@code session_id}'s state, cut to its first
   * {@code keep_tokens} tokens when set. See also {@link Session#fork}.
   */
  public SessionInfo forkSession(ForkSessionRequest request) {
    return call(() -> sessions().forkSession(request));
  }

  /**
   * Writes a session to a file in the server's state directory (--state-dir; FAILED_PRECONDITION
   * without one). See also {@link Session#save}.
   */
  public SaveSessionResponse saveSession(SaveSessionRequest request) {
    return call(() -> sessions().saveSession(request));
  }

  /**
   * Loads a file written by SaveSession ({@code path} relative to the state directory) into {@code
   * runtime} as {@code sessionId} ("" = the id it was saved with). An existing session with that id
   * is replaced only with {@code replace} (ALREADY_EXISTS otherwise); a file from another model is
   * FAILED_PRECONDITION, a corrupt or truncated one INVALID_ARGUMENT.
   */
  public SessionInfo restoreSession(
      String runtime, String path, String sessionId, boolean replace) {
    return restoreSession(
        RestoreSessionRequest.newBuilder()
            .setRuntime(runtime)
            .setPath(path)
            .setSessionId(sessionId)
            .setReplace(replace)
            .build());
  }

  public SessionInfo restoreSession(RestoreSessionRequest request) {
    return call(() -> sessions().restoreSession(request));
  }

  // ---- Diagnostics and health ------------------------------------------------------------

  /** The status snapshot of {@code runtime} ("" = default). */
  public RuntimeStatus status(String runtime) {
    return call(
        () ->
            prepare(DiagnosticsGrpc.newBlockingStub(channel))
                .getStatus(GetStatusRequest.newBuilder().setRuntime(runtime).build()));
  }

  /**
   * grpc.health.v1 Check of {@code service}: "" is the server as a whole, {@link
   * #INFERENCE_SERVICE} is SERVING only while the default runtime has a usable model.
   */
  public HealthCheckResponse.ServingStatus health(String service) {
    return call(
        () ->
            prepare(HealthGrpc.newBlockingStub(channel))
                .check(HealthCheckRequest.newBuilder().setService(service).build())
                .getStatus());
  }

  /** Shuts down the channel this client built; a derived or wrapping client does nothing. */
  @Override
  public void close() {
    if (owned == null) {
      return;
    }
    owned.shutdownNow();
    try {
      owned.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
