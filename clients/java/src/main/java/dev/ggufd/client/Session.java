package dev.ggufd.client;

import dev.ggufd.v1.ChatMessage;
import dev.ggufd.v1.ChatPrompt;
import dev.ggufd.v1.ForkSessionRequest;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.SaveSessionRequest;
import dev.ggufd.v1.SaveSessionResponse;
import dev.ggufd.v1.SessionInfo;
import dev.ggufd.v1.StoppingParams;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A handle on one session: a conversation whose token history and KV cache the server keeps on one
 * runtime between Generate calls. Each turn sends only what is new (a text, token ids, or the new
 * chat messages); the server appends it to the history and evaluates only what the session's
 * cache does not hold yet. The {@code Started} event of each turn says what happened ({@code
 * session_cache} HIT, NEW, EVICTED, DISABLED or DROPPED; {@code session_tokens}; {@code
 * cached_tokens}).
 *
 * <p>The handle holds only the runtime and the id: the server creates the session with its first
 * turn, and a handle made again later (or elsewhere) continues the same conversation. Thread-safe.
 *
 * <pre>{@code
 * Session chat = client.session("support-42");
 * chat.chat("My name is Ada.", 64);
 * Generation answer = chat.chat("What is my name?", 64);
 * answer.started().getSessionCache();   // SESSION_CACHE_HIT
 * chat.delete();
 * }</pre>
 */
public final class Session {
  private final GgufdClient client;
  private final String runtime;
  private final String id;

  Session(GgufdClient client, String runtime, String id) {
    this.client = client;
    this.runtime = Objects.requireNonNull(runtime);
    this.id = Objects.requireNonNull(id);
  }

  /** The session's id. */
  public String id() {
    return id;
  }

  /** The runtime the session lives on ("" = the default one). */
  public String runtime() {
    return runtime;
  }

  /**
   * {@code request} as a turn of this session: its session_id set, and its runtime when it names
   * none.
   */
  public GenerateRequest bind(GenerateRequest request) {
    GenerateRequest.Builder b = request.toBuilder().setSessionId(id);
    if (b.getRuntime().isEmpty()) {
      b.setRuntime(runtime);
    }
    return b.build();
  }

  /** Starts one turn (see {@link GgufdClient#generate}); the prompt is appended to the history. */
  public GenerateStream generate(GenerateRequest request) {
    return client.generate(bind(request));
  }

  /** Runs one turn to its end. */
  public Generation complete(GenerateRequest request) {
    return client.complete(bind(request));
  }

  /**
   * Sends the conversation's new messages (usually one user message; a system message too on the
   * first turn) and returns the answer with at most {@code maxTokens} tokens (0 = the runtime's
   * default). The server renders them as a continuation of the session with the model's chat
   * template.
   */
  public Generation chat(List<ChatMessage> newMessages, int maxTokens) {
    GenerateRequest.Builder request =
        GenerateRequest.newBuilder().setChat(ChatPrompt.newBuilder().addAllMessages(newMessages));
    if (maxTokens > 0) {
      request.setStopping(StoppingParams.newBuilder().setMaxTokens(maxTokens));
    }
    return complete(request.build());
  }

  /** One user message as the next turn; see {@link #chat(List, int)}. */
  public Generation chat(String userMessage, int maxTokens) {
    return chat(List.of(GgufdClient.message("user", userMessage)), maxTokens);
  }

  /**
   * The session as ListSessions shows it, if it exists (from the runtime's published snapshot; see
   * {@link GgufdClient#listSessions}).
   */
  public Optional<SessionInfo> info() {
    return client.listSessions(runtime).getSessionsList().stream()
        .filter(s -> s.getId().equals(id))
        .findFirst();
  }

  /** A copy of the whole session (history and KV cache) as {@code newSessionId}. */
  public Session fork(String newSessionId) {
    return fork(ForkSessionRequest.newBuilder().setNewSessionId(newSessionId));
  }

  /**
   * A copy of the session's first {@code keepTokens} tokens (0 < keepTokens <= its history) as
   * {@code newSessionId}: rewinding or branching the conversation.
   */
  public Session fork(String newSessionId, int keepTokens) {
    return fork(
        ForkSessionRequest.newBuilder().setNewSessionId(newSessionId).setKeepTokens(keepTokens));
  }

  private Session fork(ForkSessionRequest.Builder request) {
    SessionInfo info = client.forkSession(request.setRuntime(runtime).setSessionId(id).build());
    return new Session(client, runtime, info.getId());
  }

  /**
   * Writes the session to {@code path} in the server's state directory ("" = "&lt;id&gt;.session").
   */
  public SaveSessionResponse save(String path) {
    return client.saveSession(
        SaveSessionRequest.newBuilder().setRuntime(runtime).setSessionId(id).setPath(path).build());
  }

  /** Drops the session (its saved files stay); false when it did not exist. */
  public boolean delete() {
    return client.deleteSession(runtime, id);
  }

  @Override
  public String toString() {
    String name = runtime.isEmpty() ? GgufdClient.DEFAULT_RUNTIME : runtime;
    return "Session[" + name + "/" + id + "]";
  }
}
