package dev.ggufd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ggufd.v1.ChatPrompt;
import dev.ggufd.v1.FinishReason;
import dev.ggufd.v1.ForkSessionRequest;
import dev.ggufd.v1.GenerateRequest;
import dev.ggufd.v1.ListSessionsResponse;
import dev.ggufd.v1.OutputOptions;
import dev.ggufd.v1.RuntimeCounters;
import dev.ggufd.v1.RuntimeStatus;
import dev.ggufd.v1.SamplingParams;
import dev.ggufd.v1.SaveSessionRequest;
import dev.ggufd.v1.SaveSessionResponse;
import dev.ggufd.v1.SessionCache;
import dev.ggufd.v1.SessionInfo;
import dev.ggufd.v1.SessionStats;
import dev.ggufd.v1.Started;
import dev.ggufd.v1.StoppingParams;
import dev.ggufd.v1.Token;
import dev.ggufd.v1.TokenIdList;
import dev.ggufd.v1.TokenizeRequest;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Sessions against a real ggufd on 127.0.0.1 started with a temporary --state-dir: multi-turn
 * chat with the session's cache reused, ListSessions, Fork, Delete, Save and Restore (also on a
 * restarted server), and the errors of those calls. Continuations are compared token for token:
 * a session's greedy continuation equals that of a fork of it, of a save + restore of it (also on
 * a restarted server), and what the runtime's shared cache gives for the same conversation run
 * without a session ({@link #sharedCacheTurns}). A stateless prompt of the whole history evaluated
 * in one batch is not compared: it may differ in the last bits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GgufdSessionsE2ETest {
  private static final String MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf";

  private Path stateDir;
  private GgufdServer server;
  private GgufdClient client;

  @BeforeAll
  void startServer() throws Exception {
    stateDir = Files.createTempDirectory("ggufd-java-sessions-");
    server = GgufdServer.start(stateDir);
    client =
        GgufdClient.builder(server.address()).defaultDeadline(Duration.ofSeconds(120)).build();
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    if (stateDir != null) {
      try (Stream<Path> files = Files.walk(stateDir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  @BeforeEach
  void ensureLoaded() {
    if (!client.status("").getModelLoaded()) {
      client.loadModel(MODEL);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Continues {@code ids} greedily for exactly {@code n} tokens (EOS ignored), with token ids. */
  private static GenerateRequest greedyTokens(List<Integer> ids, int n) {
    return GenerateRequest.newBuilder()
        .setTokens(TokenIdList.newBuilder().addAllIds(ids))
        .setSampling(SamplingParams.newBuilder().setTemperature(0))
        .setStopping(StoppingParams.newBuilder().setMaxTokens(n).setIgnoreEos(true))
        .setOutput(OutputOptions.newBuilder().setTokenIds(true))
        .build();
  }

  /**
   * {@code request} without a session, on the default runtime: with {@code reuseCache} false the
   * whole prompt is evaluated in one batch, otherwise the runtime's shared cache gives what it
   * holds of it.
   */
  private Generation stateless(GenerateRequest request, boolean reuseCache) {
    return client.complete(request.toBuilder().setReuseCache(reuseCache).build());
  }

  /**
   * The two token-prompt turns a session ran, run without a session: {@code prompt} continued for
   * {@code n} tokens with reuse_cache false (the prompt evaluated in one batch, as a new
   * session's), then prompt + those tokens + {@code more} continued for {@code n} tokens on the
   * runtime's shared cache, which holds all of it but the last generated token (never fed back),
   * just as the session's cache did. Nothing runs on the runtime in between. The second turn is
   * what the session's second turn must give: the same tokens evaluated in the same batches.
   */
  private Generation[] sharedCacheTurns(List<Integer> prompt, int n, List<Integer> more) {
    Generation first = stateless(greedyTokens(prompt, n), false);
    Generation second = stateless(greedyTokens(concat(prompt, ids(first), more), n), true);
    assertEquals(
        prompt.size() + first.tokens().size() - 1,
        second.started().getCachedTokens(),
        "the shared cache's tokens for the second turn: " + second.started());
    return new Generation[] {first, second};
  }

  private static List<Integer> ids(Generation g) {
    return g.tokens().stream().map(Token::getId).toList();
  }

  @SafeVarargs
  private static List<Integer> concat(List<Integer>... parts) {
    List<Integer> out = new ArrayList<>();
    for (List<Integer> p : parts) {
      out.addAll(p);
    }
    return out;
  }

  /** Token ids of {@code text}, with BOS/EOS as the model's rule says when {@code special}. */
  private List<Integer> tokenize(String text, boolean special) {
    TokenizeRequest.Builder request = TokenizeRequest.newBuilder().setText(text);
    if (!special) {
      request.setAddSpecial(false);
    }
    return client.tokenize(request.build());
  }

  private Optional<SessionInfo> listed(GgufdClient c, String id) {
    return c.listSessions("").getSessionsList().stream()
        .filter(s -> s.getId().equals(id))
        .findFirst();
  }

  /**
   * Checks that {@code ok} accepts the entry ListSessions gives for session {@code id} (empty when
   * absent). The runtime publishes the snapshot ListSessions answers from before it replies to a
   * call (and before it ends a Generate stream), so the list already shows what a call just did.
   */
  private Optional<SessionInfo> assertListed(
      String id, String after, Predicate<Optional<SessionInfo>> ok) {
    ListSessionsResponse list = client.listSessions("");
    Optional<SessionInfo> info =
        list.getSessionsList().stream().filter(s -> s.getId().equals(id)).findFirst();
    assertTrue(
        ok.test(info),
        "after " + after + ", ListSessions does not show the expected " + id + ": " + list);
    return info;
  }

  /** Deletes the sessions a test made, without hiding the test's own failure. */
  private void deleteQuietly(String... ids) {
    for (String id : ids) {
      try {
        client.deleteSession("", id);
      } catch (GgufdException e) {
        System.err.println("DeleteSession(" + id + "): " + e.getMessage());
      }
    }
  }

  /**
   * A token-prompt turn's Started: its id, what its cache held, the history's length before it. A
   * HIT holds the whole history but the last generated token (sampled, never fed back).
   */
  private static void assertStarted(
      String what, Started s, String id, SessionCache cache, int sessionTokens) {
    assertStarted(what, s, id, cache, sessionTokens, sessionTokens - 1);
  }

  /** The same, for a HIT that holds at least {@code minCached} tokens. */
  private static void assertStarted(
      String what, Started s, String id, SessionCache cache, int sessionTokens, int minCached) {
    String got = what + ": " + s;
    assertEquals(id, s.getSessionId(), got);
    assertEquals(cache, s.getSessionCache(), got);
    assertEquals(sessionTokens, s.getSessionTokens(), got);
    if (cache == SessionCache.SESSION_CACHE_HIT) {
      int cached = s.getCachedTokens();
      assertTrue(
          cached > 0 && cached <= sessionTokens && cached >= minCached,
          what + ": cached_tokens " + cached + " for a HIT on " + sessionTokens + " tokens");
    } else {
      assertEquals(0, s.getCachedTokens(), got);
    }
  }

  /**
   * What a chat turn added to the history, checked against ListSessions: the prompt's new tokens,
   * the answer, the end-of-generation token when one ended it, and the template's text closing
   * the answer (ChatML: "&lt;|im_end|&gt;\n" after MAX_TOKENS, "\n" after EOS), at most 2 tokens.
   * Returns the tokens the model read or wrote (those the cache can hold).
   */
  private static int assertChatHistory(String what, Generation turn, SessionInfo info, int turns) {
    int read = turn.started().getPromptTokens() + turn.tokens().size();
    if (turn.finished().getReason() == FinishReason.FINISH_REASON_EOS) {
      read++;
    }
    int closing = info.getTokens() - read;
    assertTrue(
        closing >= 0 && closing <= 2,
        what + ": listed " + info + "; want " + read + " tokens + 0..2 closing the answer");
    assertEquals(turns, info.getTurns(), what + ": " + info);
    return read;
  }

  private static void assertSameContinuation(String what, Generation got, Generation want) {
    assertEquals(ids(want), ids(got), what + " (token ids)");
    assertEquals(want.text(), got.text(), what + " (text)");
  }

  private static void assertCode(Status.Code code, Runnable call) {
    GgufdException e = assertThrows(GgufdException.class, call::run);
    assertEquals(code, e.code(), e.getMessage());
  }

  /**
   * The default runtime's status, idle, having counted {@code generations} generations: the
   * snapshot is published before the reply (or the end of the stream) of each call.
   */
  private RuntimeStatus assertStatus(long generations) {
    RuntimeStatus s = client.status("");
    assertTrue(
        s.getRunningOperation().isEmpty()
            && s.getQueueDepth() == 0
            && s.getCounters().getGenerations() == generations,
        "want an idle runtime with " + generations + " generations: " + s);
    return s;
  }

  // ---- scenarios -------------------------------------------------------------------------

  /**
   * Two chat turns on one session: turn 2 sends only the new user message and finds the history
   * in the session's cache (HIT). The session is listed, counted in the status, and deleted.
   */
  @Test
  @Order(1)
  void chatTurnsReuseTheSessionsCache() throws Exception {
    String id = "java-e2e-chat";
    Session session = client.session(id);
    try {
      GenerateRequest.Builder base =
          GenerateRequest.newBuilder()
              .setSampling(SamplingParams.newBuilder().setTemperature(0))
              .setStopping(StoppingParams.newBuilder().setMaxTokens(12))
              .setOutput(OutputOptions.newBuilder().setTokenIds(true));
      Generation first =
          session.complete(
              base.clone()
                  .setChat(
                      ChatPrompt.newBuilder()
                          .addMessages(GgufdClient.message("system", "You are helpful."))
                          .addMessages(GgufdClient.message("user", "My name is Ada. Say hello.")))
                  .build());
      assertStarted("turn 1", first.started(), id, SessionCache.SESSION_CACHE_NEW, 0);
      assertTrue(first.started().getPromptTokens() > 0 && !first.tokens().isEmpty());
      SessionInfo afterFirst =
          assertListed(id, "turn 1", s -> s.map(i -> i.getTurns() == 1).orElse(false)).get();
      int read = assertChatHistory("after turn 1", first, afterFirst, 1);

      RuntimeCounters before = client.status("").getCounters();
      Generation second =
          session.complete(
              base.clone()
                  .setChat(
                      ChatPrompt.newBuilder()
                          .addMessages(GgufdClient.message("user", "What is my name?")))
                  .build());
      // The cache holds what the model read and wrote but the last answer token (and the text
      // closing the answer).
      assertStarted(
          "turn 2",
          second.started(),
          id,
          SessionCache.SESSION_CACHE_HIT,
          afterFirst.getTokens(),
          read - 1);
      assertTrue(second.started().getCachedTokens() > 0);
      assertTrue(
          second.started().getPromptTokens() > second.started().getSessionTokens(),
          "prompt_tokens is not the history + the new message: " + second.started());
      assertFalse(second.text().isBlank(), "turn 2 answered nothing");

      // Only what the cache did not hold was evaluated.
      RuntimeStatus status = assertStatus(before.getGenerations() + 1);
      assertEquals(
          second.started().getPromptTokens() - second.started().getCachedTokens(),
          status.getCounters().getPrefilledTokens() - before.getPrefilledTokens(),
          "prefilled_tokens for turn 2");
      SessionStats stats = status.getSessions();
      assertTrue(
          stats.getSessions() >= 1
              && stats.getKvBytes() > 0
              && stats.getKvBudgetBytes() > 0
              && stats.getTtlSeconds() > 0,
          "session stats " + stats);

      SessionInfo info =
          assertListed(id, "turn 2", s -> s.map(i -> i.getTurns() == 2).orElse(false)).get();
      ListSessionsResponse list = client.listSessions("");
      assertEquals(id, list.getSessions(0).getId(), "the session used last comes first: " + list);
      assertChatHistory("after turn 2", second, info, 2);
      assertEquals("default", info.getRuntime(), info.toString());
      assertTrue(
          info.getCachedTokens() > 0 && info.getCachedTokens() <= info.getTokens(),
          info.toString());
      assertTrue(info.getKvBytes() > 0 && !info.getSaved(), info.toString());
      assertTrue(info.getLastUsedUnixMs() >= info.getCreatedUnixMs(), info.toString());
      assertTrue(list.getKvBytes() >= info.getKvBytes() && list.getKvBudgetBytes() > 0);

      assertTrue(session.delete(), "DeleteSession did not find the session");
      assertListed(id, "the delete", Optional::isEmpty);
      assertFalse(session.delete(), "a second delete found it");
      // The id starts a new, empty session.
      Generation again = session.chat("What is my name?", 4);
      assertStarted("after the delete", again.started(), id, SessionCache.SESSION_CACHE_NEW, 0);
    } finally {
      deleteQuietly(id);
    }
  }

  /**
   * Fork copies a session whole (its next turn is a HIT equal to the original's) or cut to its
   * first tokens; a fork starts with 0 turns. Each continuation equals what the runtime's shared
   * cache gives for the same conversation run without a session.
   */
  @Test
  @Order(2)
  void forkCopiesOrRewindsASession() throws Exception {
    String base = "java-e2e-fork-base";
    String copied = "java-e2e-fork-copy";
    String rewound = "java-e2e-fork-rewind";
    try {
      List<Integer> prompt = tokenize("The three primary colors are", true);
      List<Integer> more = tokenize(" In the end,", false);
      Session session = client.session(base);
      Generation first = session.complete(greedyTokens(prompt, 6));
      assertStarted("turn 1", first.started(), base, SessionCache.SESSION_CACHE_NEW, 0);
      assertEquals(6, first.tokens().size());
      List<Integer> history = concat(prompt, ids(first));

      Session fork = session.fork(copied);
      assertEquals(copied, fork.id());
      SessionInfo copy = assertListed(copied, "the fork", Optional::isPresent).get();
      assertEquals(history.size(), copy.getTokens(), copy.toString());
      assertEquals(0, copy.getTurns(), copy.toString());
      SessionInfo cut =
          client.forkSession(
              ForkSessionRequest.newBuilder()
                  .setSessionId(base)
                  .setNewSessionId(rewound)
                  .setKeepTokens(prompt.size())
                  .build());
      assertEquals(rewound, cut.getId());
      assertEquals(prompt.size(), cut.getTokens(), cut.toString());
      assertEquals(0, cut.getTurns(), cut.toString());
      assertListed(rewound, "the fork", s -> s.map(i -> i.getTurns() == 0).orElse(false));
      assertListed(base, "the forks", s -> s.map(i -> i.getTurns() == 1).orElse(false));

      Generation original = session.complete(greedyTokens(more, 6));
      assertStarted(
          "turn 2 of the original",
          original.started(),
          base,
          SessionCache.SESSION_CACHE_HIT,
          history.size());
      Generation forked = fork.complete(greedyTokens(more, 6));
      assertStarted(
          "turn 2 of the fork",
          forked.started(),
          copied,
          SessionCache.SESSION_CACHE_HIT,
          history.size());
      assertSameContinuation("the fork's turn 2", forked, original);
      Generation rewind = client.session(rewound).complete(greedyTokens(more, 6));
      assertEquals(SessionCache.SESSION_CACHE_HIT, rewind.started().getSessionCache());
      assertEquals(prompt.size(), rewind.started().getSessionTokens());
      assertEquals(prompt.size(), rewind.started().getCachedTokens(), rewind.started().toString());

      // The same conversation on the shared cache.
      Generation[] shared = sharedCacheTurns(prompt, 6, more);
      assertSameContinuation("turn 1 without a session", shared[0], first);
      assertSameContinuation("the original's turn 2 against the shared cache", original, shared[1]);
      // The shared cache now holds the prompt (then the first turn's answer): the prompt and more
      // from there is what the rewound fork read.
      Generation fromPrompt = stateless(greedyTokens(concat(prompt, more), 6), true);
      assertEquals(
          prompt.size(),
          fromPrompt.started().getCachedTokens(),
          "the shared cache's tokens of the prompt and more: " + fromPrompt.started());
      assertSameContinuation(
          "the rewound fork's turn 2 against the shared cache", rewind, fromPrompt);
    } finally {
      deleteQuietly(base, copied, rewound);
    }
  }

  /**
   * SaveSession writes the session into --state-dir; RestoreSession brings it back under another
   * id, onto an existing id with replace, and on a restarted server, and each restored session
   * continues exactly as the original, which continues as the same conversation on the runtime's
   * shared cache.
   */
  @Test
  @Order(3)
  void saveAndRestoreContinueTheSameWay() throws Exception {
    String id = "java-e2e-saved";
    String restoredId = "java-e2e-restored";
    try {
      List<Integer> prompt = tokenize("Once upon a time, in a small village,", true);
      List<Integer> more = tokenize(" Every morning", false);
      Session session = client.session(id);
      Generation first = session.complete(greedyTokens(prompt, 6));
      List<Integer> history = concat(prompt, ids(first));

      SaveSessionResponse saved = session.save("");
      assertEquals(id + ".session", saved.getPath());
      assertTrue(saved.getFileBytes() > 0);
      assertEquals(saved.getFileBytes(), Files.size(stateDir.resolve(saved.getPath())));
      assertEquals(id, saved.getSession().getId());
      assertEquals(history.size(), saved.getSession().getTokens());
      assertTrue(saved.getSession().getSaved(), saved.toString());
      assertEquals(saved.getPath(), saved.getSession().getSavedPath());
      assertListed(id, "the save", s -> s.map(SessionInfo::getSaved).orElse(false));

      SessionInfo restored = client.restoreSession("", saved.getPath(), restoredId, false);
      assertEquals(restoredId, restored.getId());
      assertEquals(history.size(), restored.getTokens());

      Generation original = session.complete(greedyTokens(more, 6));
      assertStarted(
          "turn 2 of the original",
          original.started(),
          id,
          SessionCache.SESSION_CACHE_HIT,
          history.size());
      Generation again = client.session(restoredId).complete(greedyTokens(more, 6));
      assertStarted(
          "turn 2 of the restored copy",
          again.started(),
          restoredId,
          SessionCache.SESSION_CACHE_HIT,
          history.size());
      assertSameContinuation("the restored session's turn 2", again, original);
      Generation[] shared = sharedCacheTurns(prompt, 6, more);
      assertSameContinuation("turn 1 without a session", shared[0], first);
      assertSameContinuation("the original's turn 2 against the shared cache", original, shared[1]);
      assertListed(
          id, "another turn", s -> s.map(i -> i.getTurns() == 2 && !i.getSaved()).orElse(false));

      // Onto an existing id only with replace, which brings the saved history back.
      assertCode(
          Status.Code.ALREADY_EXISTS,
          () -> client.restoreSession("", saved.getPath(), restoredId, false));
      SessionInfo replaced = client.restoreSession("", saved.getPath(), restoredId, true);
      assertEquals(history.size(), replaced.getTokens());
      assertSameContinuation(
          "the replaced session's turn 2",
          client.session(restoredId).complete(greedyTokens(more, 6)),
          original);

      // A restarted server (same state directory) restores it under the id it was saved with.
      try (GgufdServer other = GgufdServer.start(stateDir);
          GgufdClient c2 =
              GgufdClient.builder(other.address())
                  .defaultDeadline(Duration.ofSeconds(120))
                  .build()) {
        c2.loadModel(MODEL);
        SessionInfo back = c2.restoreSession("", saved.getPath(), "", false);
        assertEquals(id, back.getId());
        assertEquals(history.size(), back.getTokens());
        assertSameContinuation(
            "turn 2 on the restarted server",
            c2.session(id).complete(greedyTokens(more, 6)),
            original);
      }
    } finally {
      deleteQuietly(id, restoredId);
    }
  }

  /** The errors the Sessions calls and session turns answer. */
  @Test
  @Order(4)
  void sessionErrors() throws IOException {
    String id = "java-e2e-errors";
    String other = "java-e2e-errors-other";
    try {
      client.session(id).complete(greedyTokens(tokenize("Hello", true), 2));
      client.session(other).complete(greedyTokens(tokenize("Hi", true), 2));

      assertCode(
          Status.Code.INVALID_ARGUMENT,
          () -> client.session("not a valid id!").chat("Hello", 2));
      assertCode(
          Status.Code.NOT_FOUND, () -> client.session("java-e2e-no-such-session").save(""));
      assertCode(
          Status.Code.NOT_FOUND,
          () -> client.session("java-e2e-no-such-session").fork("java-e2e-never"));
      assertCode(Status.Code.ALREADY_EXISTS, () -> client.session(id).fork(other));
      assertCode(
          Status.Code.PERMISSION_DENIED,
          () ->
              client.saveSession(
                  SaveSessionRequest.newBuilder()
                      .setSessionId(id)
                      .setPath("../escaped.session")
                      .build()));
      assertCode(
          Status.Code.PERMISSION_DENIED,
          () -> client.restoreSession("", "../escaped.session", "", false));
      // Save creates no directories: a missing one is a bad path.
      GgufdException noDir =
          assertThrows(
              GgufdException.class,
              () ->
                  client.saveSession(
                      SaveSessionRequest.newBuilder()
                          .setSessionId(id)
                          .setPath("java-e2e-no-such-dir/x.session")
                          .build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, noDir.code(), noDir.getMessage());
      assertEquals(List.of("path"), noDir.badFields(), noDir.getMessage());

      // A damaged file is refused with a message naming why, and changes nothing.
      SaveSessionResponse saved = client.session(id).save("java-e2e-errors.session");
      byte[] data = Files.readAllBytes(stateDir.resolve(saved.getPath()));
      byte[] corrupt = data.clone();
      corrupt[corrupt.length / 2] ^= 0x55;
      Files.write(stateDir.resolve("corrupt.session"), corrupt);
      Files.write(stateDir.resolve("truncated.session"), Arrays.copyOf(data, data.length / 2));
      for (Map.Entry<String, String> c :
          Map.of("corrupt.session", "checksum", "truncated.session", "truncated").entrySet()) {
        GgufdException e =
            assertThrows(
                GgufdException.class,
                () -> client.restoreSession("", c.getKey(), "java-e2e-damaged", false));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
      }
      assertTrue(listed(client, "java-e2e-damaged").isEmpty(), "a refused restore left a session");
    } finally {
      deleteQuietly(id, other);
    }
  }

  @Test
  @Order(5)
  void serverStillRunning() {
    assertTrue(server.isAlive(), "ggufd exited during the tests:\n" + server.recentLog());
  }
}
