package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// turn is one Generate read to its end, with the generated token ids.
type turn struct {
	text     string
	ids      []int32
	started  *ggufdv1.Started
	finished *ggufdv1.Finished
}

// collect reads a generation to its end; any failure fails the test.
func collect(t *testing.T, what string, gen *ggufd.Generation, err error) turn {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var out turn
	var text strings.Builder
	for event, err := range gen.Events() {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		text.WriteString(event.GetChunk().GetText())
		for _, tok := range event.GetChunk().GetTokens() {
			out.ids = append(out.ids, tok.GetId())
		}
	}
	out.text, out.started, out.finished = text.String(), gen.Started(), gen.Finished()
	if out.started == nil || out.finished == nil {
		t.Fatalf("%s: missing Started (%v) or Finished (%v)", what, out.started, out.finished)
	}
	return out
}

// greedyTokens continues ids greedily for exactly n tokens (EOS ignored, so
// the history grows by exactly the ids reported).
func greedyTokens(ids []int32, n int32) *ggufdv1.GenerateRequest {
	return &ggufdv1.GenerateRequest{
		Prompt:   &ggufdv1.GenerateRequest_Tokens{Tokens: &ggufdv1.TokenIdList{Ids: ids}},
		Sampling: &ggufdv1.SamplingParams{Temperature: proto.Float32(0)},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(n), IgnoreEos: proto.Bool(true)},
		Output:   &ggufdv1.OutputOptions{TokenIds: true},
	}
}

// sessionTurn runs req as a turn of session id on c.
func sessionTurn(t *testing.T, c *ggufd.Client, id string, req *ggufdv1.GenerateRequest) turn {
	t.Helper()
	ctx := ctxFor(t, 60*time.Second)
	gen, err := c.Session(id).Generate(ctx, req)
	return collect(t, "turn of session "+id, gen, err)
}

// stateless runs req without a session on the default runtime; with
// reuseCache false the whole prompt is evaluated in one batch, otherwise
// the runtime's shared cache gives what it holds of the prompt.
func stateless(t *testing.T, req *ggufdv1.GenerateRequest, reuseCache bool) turn {
	t.Helper()
	req = proto.CloneOf(req)
	req.ReuseCache = proto.Bool(reuseCache)
	gen, err := client.Generate(ctxFor(t, 60*time.Second), req)
	return collect(t, "stateless Generate", gen, err)
}

// sharedCacheTurns runs, without a session, the two token-prompt turns a
// session ran: prompt continued for n tokens with reuse_cache false (the
// prompt evaluated in one batch, as a new session's), then
// prompt + those tokens + more continued for n tokens on the runtime's
// shared cache, which holds all of it but the last generated token (never
// fed back), just as the session's cache did. Nothing runs on the runtime
// in between. The second turn is what the session's second turn must give:
// the same tokens evaluated in the same batches. (The whole history
// evaluated again in one batch may differ in the last bits.)
func sharedCacheTurns(t *testing.T, prompt []int32, n int32, more []int32) (first, second turn) {
	t.Helper()
	first = stateless(t, greedyTokens(prompt, n), false)
	second = stateless(t, greedyTokens(slices.Concat(prompt, first.ids, more), n), true)
	if want := len(prompt) + len(first.ids) - 1; int(second.started.GetCachedTokens()) != want {
		t.Errorf("the shared cache gave %d cached tokens to the second turn, want %d (%v)",
			second.started.GetCachedTokens(), want, second.started)
	}
	return first, second
}

// tokenize is text's ids with BOS/EOS (special=true, the model's rule) or
// without them.
func tokenize(t *testing.T, text string, special bool) []int32 {
	t.Helper()
	req := &ggufdv1.TokenizeRequest{Text: text}
	if !special {
		req.AddSpecial = proto.Bool(false)
	}
	resp, err := ggufdv1.NewInferenceClient(client.Conn()).Tokenize(ctxFor(t, 10*time.Second), req)
	if err != nil {
		t.Fatalf("Tokenize(%q): %v", text, err)
	}
	return resp.GetIds()
}

// wantStarted checks a session turn's Started: its session id, what its
// cache held and the history's length before the turn. A HIT holds at least
// minCached tokens (a token prompt's history, but the last generated token,
// which was sampled and never fed back).
func wantStarted(t *testing.T, what string, s *ggufdv1.Started, id string,
	cache ggufdv1.SessionCache, sessionTokens, minCached int) {
	t.Helper()
	if s.GetSessionId() != id || s.GetSessionCache() != cache ||
		int(s.GetSessionTokens()) != sessionTokens {
		t.Errorf("%s: Started{session_id %q, session_cache %v, session_tokens %d}, want {%q, %v, %d} (%v)",
			what, s.GetSessionId(), s.GetSessionCache(), s.GetSessionTokens(),
			id, cache, sessionTokens, s)
	}
	c := int(s.GetCachedTokens())
	if cache == ggufdv1.SessionCache_SESSION_CACHE_HIT {
		if c <= 0 || c < minCached || c > sessionTokens {
			t.Errorf("%s: cached_tokens %d for a HIT on a history of %d tokens (want >= %d)",
				what, c, sessionTokens, minCached)
		}
	} else if c != 0 {
		t.Errorf("%s: cached_tokens %d with session_cache %v", what, c, cache)
	}
}

// sameContinuation checks that two generations produced the same tokens and
// text.
func sameContinuation(t *testing.T, what string, got, want turn) {
	t.Helper()
	if !slices.Equal(got.ids, want.ids) || got.text != want.text {
		t.Errorf("%s differs:\n got  %v %q\n want %v %q", what, got.ids, got.text, want.ids, want.text)
	}
}

// listed is the session id as ListSessions shows it (nil when absent), and
// the whole list.
func listed(t *testing.T, c *ggufd.Client, id string) (*ggufdv1.SessionInfo, *ggufdv1.ListSessionsResponse) {
	t.Helper()
	list, err := c.ListSessions(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	for _, s := range list.GetSessions() {
		if s.GetId() == id {
			return s, list
		}
	}
	return nil, list
}

// wantListed checks that ok accepts the entry ListSessions gives for
// session id (nil when it is absent). The runtime publishes the snapshot
// ListSessions answers from before it replies to a call (and before it ends
// a Generate stream), so the list already shows what a call just did.
func wantListed(t *testing.T, c *ggufd.Client, id, after string,
	ok func(*ggufdv1.SessionInfo) bool) (*ggufdv1.SessionInfo, *ggufdv1.ListSessionsResponse) {
	t.Helper()
	info, list := listed(t, c, id)
	if !ok(info) {
		t.Errorf("after %s, ListSessions does not show the expected %s: %v", after, id, list)
	}
	return info, list
}

// runtimeStatus is the default runtime's status snapshot, published before
// the reply (or the end of the stream) of the last call on it.
func runtimeStatus(t *testing.T) *ggufdv1.RuntimeStatus {
	t.Helper()
	st, err := client.Status(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("GetStatus: %v", err)
	}
	return st
}

// deleteAtEnd deletes the sessions when the test ends, whatever happened.
func deleteAtEnd(t *testing.T, ids ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, id := range ids {
			if _, err := client.DeleteSession(ctx, id); err != nil {
				t.Errorf("DeleteSession(%s): %v", id, err)
			}
		}
	})
}

// Sessions 1: a two-turn chat on one session. Turn 2 sends only the new
// user message and finds the history in the session's cache (HIT); the
// session is listed, counted in the status, and deleted.
func TestSessionChatTurns(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 120*time.Second)
	const id = "go-e2e-chat"
	deleteAtEnd(t, id)
	session := client.Session(id)
	base := &ggufdv1.GenerateRequest{
		Sampling: &ggufdv1.SamplingParams{Temperature: proto.Float32(0)},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(12)},
		Output:   &ggufdv1.OutputOptions{TokenIds: true},
	}
	chat := func(messages ...*ggufdv1.ChatMessage) turn {
		req := proto.CloneOf(base)
		req.Prompt = &ggufdv1.GenerateRequest_Chat{Chat: &ggufdv1.ChatPrompt{Messages: messages}}
		gen, err := session.Generate(ctx, req)
		return collect(t, "chat turn", gen, err)
	}
	// What a chat turn adds to the history: its prompt's new tokens, the
	// answer, the end-of-generation token when one ended it, and the
	// template's text closing the answer (ChatML: "<|im_end|>\n" after
	// MAX_TOKENS, "\n" after EOS), at most 2 tokens.
	wantHistory := func(what string, r turn, listed *ggufdv1.SessionInfo, turns int32) int {
		t.Helper()
		n := int(r.started.GetPromptTokens()) + len(r.ids)
		if r.finished.GetReason() == ggufdv1.FinishReason_FINISH_REASON_EOS {
			n++
		}
		if listed == nil {
			t.Fatalf("%s: ListSessions does not list %s", what, id)
		}
		closing := int(listed.GetTokens()) - n
		if closing < 0 || closing > 2 || listed.GetTurns() != turns {
			t.Errorf("%s: listed %v; want %d turns and %d tokens + 0..2 closing the answer",
				what, listed, turns, n)
		}
		t.Logf("%s: %d prompt tokens, %d generated (%v), %d closing, history %d",
			what, r.started.GetPromptTokens(), len(r.ids), r.finished.GetReason(), closing, listed.GetTokens())
		return n
	}

	first := chat(ggufd.System("You are a helpful assistant."), ggufd.User("My name is Ada. Say hello to me."))
	wantStarted(t, "turn 1", first.started, id, ggufdv1.SessionCache_SESSION_CACHE_NEW, 0, 0)
	if first.started.GetPromptTokens() <= 0 || len(first.ids) == 0 {
		t.Fatalf("turn 1: %d prompt tokens, %d generated", first.started.GetPromptTokens(), len(first.ids))
	}
	info, _ := wantListed(t, client, id, "turn 1", func(s *ggufdv1.SessionInfo) bool {
		return s.GetTurns() == 1
	})
	read := wantHistory("after turn 1", first, info, 1)
	history := int(info.GetTokens())

	before := runtimeStatus(t).GetCounters()
	second := chat(ggufd.User("What is my name?"))
	// The cache holds what the model read and wrote but the last answer
	// token (and the text closing the answer).
	wantStarted(t, "turn 2", second.started, id, ggufdv1.SessionCache_SESSION_CACHE_HIT, history, read-1)
	if second.started.GetCachedTokens() <= 0 {
		t.Fatalf("turn 2 reused no cached tokens: %v", second.started)
	}
	if second.started.GetPromptTokens() <= second.started.GetSessionTokens() {
		t.Errorf("turn 2: prompt_tokens %d, not the history %d + the new message",
			second.started.GetPromptTokens(), second.started.GetSessionTokens())
	}
	if strings.TrimSpace(second.text) == "" {
		t.Errorf("turn 2 answered nothing (finished %v)", second.finished)
	}
	t.Logf("turn 1 %q; turn 2 %q (Started %v)", first.text, second.text, second.started)

	// Only the tokens the cache did not hold were evaluated. The status
	// counts turn 2 as soon as its stream has ended.
	st := runtimeStatus(t)
	if st.GetRunningOperation() != "" || st.GetCounters().GetGenerations() != before.GetGenerations()+1 {
		t.Errorf("status after turn 2: running %q, %d generations (%d before)",
			st.GetRunningOperation(), st.GetCounters().GetGenerations(), before.GetGenerations())
	}
	prefilled := st.GetCounters().GetPrefilledTokens() - before.GetPrefilledTokens()
	if want := uint64(second.started.GetPromptTokens() - second.started.GetCachedTokens()); prefilled != want {
		t.Errorf("prefilled_tokens went up by %d for turn 2, want prompt %d - cached %d",
			prefilled, second.started.GetPromptTokens(), second.started.GetCachedTokens())
	}
	if stats := st.GetSessions(); stats.GetSessions() < 1 || stats.GetKvBytes() == 0 ||
		stats.GetKvBudgetBytes() == 0 || stats.GetTtlSeconds() <= 0 {
		t.Errorf("status's session stats %v after a session turn", stats)
	}

	info, list := wantListed(t, client, id, "turn 2", func(s *ggufdv1.SessionInfo) bool {
		return s.GetTurns() == 2
	})
	wantHistory("after turn 2", second, info, 2)
	if len(list.GetSessions()) == 0 || list.GetSessions()[0].GetId() != id {
		t.Errorf("the session used last is not listed first: %v", list)
	}
	if info.GetRuntime() != "default" || info.GetCachedTokens() <= 0 ||
		info.GetCachedTokens() > info.GetTokens() || info.GetKvBytes() == 0 ||
		info.GetCreatedUnixMs() <= 0 || info.GetLastUsedUnixMs() < info.GetCreatedUnixMs() ||
		info.GetSaved() {
		t.Errorf("listed %v; want runtime default, some tokens cached, not saved", info)
	}
	if list.GetKvBytes() < info.GetKvBytes() || list.GetKvBudgetBytes() == 0 {
		t.Errorf("ListSessions kv_bytes %d, budget %d, the session holds %d",
			list.GetKvBytes(), list.GetKvBudgetBytes(), info.GetKvBytes())
	}

	found, err := session.Delete(ctx)
	if err != nil || !found {
		t.Fatalf("DeleteSession(%s) = %v, %v; want found", id, found, err)
	}
	wantListed(t, client, id, "the delete", func(s *ggufdv1.SessionInfo) bool { return s == nil })
	if found, err := session.Delete(ctx); err != nil || found {
		t.Errorf("second DeleteSession(%s) = %v, %v; want not found", id, found, err)
	}
	// The id starts a new, empty session.
	again := chat(ggufd.User("What is my name?"))
	wantStarted(t, "a turn after the delete", again.started, id, ggufdv1.SessionCache_SESSION_CACHE_NEW, 0, 0)
}

// Sessions 2: Fork copies a session whole (its next turn is a HIT and equals
// the original's) or cut to its first tokens; a fork starts with 0 turns.
// Each continuation equals what the runtime's shared cache gives for the
// same conversation run without a session (sharedCacheTurns).
func TestSessionFork(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 120*time.Second)
	const base, copied, rewound = "go-e2e-fork-base", "go-e2e-fork-copy", "go-e2e-fork-rewind"
	deleteAtEnd(t, base, copied, rewound)
	prompt := tokenize(t, "The three primary colors are", true)
	more := tokenize(t, " In the end,", false)

	first := sessionTurn(t, client, base, greedyTokens(prompt, 6))
	wantStarted(t, "turn 1", first.started, base, ggufdv1.SessionCache_SESSION_CACHE_NEW, 0, 0)
	history := slices.Concat(prompt, first.ids)
	if len(first.ids) != 6 {
		t.Fatalf("turn 1 generated %v, want 6 tokens", first.ids)
	}

	session := client.Session(base)
	fork, info, err := session.Fork(ctx, copied, 0)
	if err != nil {
		t.Fatalf("ForkSession(%s -> %s): %v", base, copied, err)
	}
	if info.GetId() != copied || int(info.GetTokens()) != len(history) || info.GetTurns() != 0 {
		t.Errorf("ForkSession answered %v, want id %s with %d tokens and 0 turns", info, copied, len(history))
	}
	_, rewoundInfo, err := session.Fork(ctx, rewound, int32(len(prompt)))
	if err != nil {
		t.Fatalf("ForkSession(%s -> %s, keep %d): %v", base, rewound, len(prompt), err)
	}
	if int(rewoundInfo.GetTokens()) != len(prompt) || rewoundInfo.GetTurns() != 0 {
		t.Errorf("ForkSession keeping %d tokens answered %v, want 0 turns", len(prompt), rewoundInfo)
	}
	for id, turns := range map[string]int32{base: 1, copied: 0, rewound: 0} {
		wantListed(t, client, id, "the forks", func(s *ggufdv1.SessionInfo) bool {
			return s != nil && s.GetTurns() == turns
		})
	}

	original := sessionTurn(t, client, base, greedyTokens(more, 6))
	wantStarted(t, "turn 2 of the original", original.started, base,
		ggufdv1.SessionCache_SESSION_CACHE_HIT, len(history), len(history)-1)
	forked := sessionTurn(t, client, fork.ID(), greedyTokens(more, 6))
	wantStarted(t, "turn 2 of the fork", forked.started, copied,
		ggufdv1.SessionCache_SESSION_CACHE_HIT, len(history), len(history)-1)
	sameContinuation(t, "the fork's turn 2", forked, original)
	cut := sessionTurn(t, client, rewound, greedyTokens(more, 6))
	wantStarted(t, "turn 2 of the rewound fork", cut.started, rewound,
		ggufdv1.SessionCache_SESSION_CACHE_HIT, len(prompt), len(prompt))

	// The same conversation on the shared cache.
	sharedFirst, sharedSecond := sharedCacheTurns(t, prompt, 6, more)
	sameContinuation(t, "turn 1 without a session", sharedFirst, first)
	sameContinuation(t, "the original's turn 2", original, sharedSecond)
	// The shared cache now holds the prompt (then the first turn's answer):
	// the prompt and more from there is what the rewound fork read.
	rewind := stateless(t, greedyTokens(slices.Concat(prompt, more), 6), true)
	if int(rewind.started.GetCachedTokens()) != len(prompt) {
		t.Errorf("the shared cache held %d tokens of the prompt and more, want the prompt's %d",
			rewind.started.GetCachedTokens(), len(prompt))
	}
	sameContinuation(t, "the rewound fork's turn 2", cut, rewind)
	t.Logf("original %q, rewound %q", original.text, cut.text)
}

// Sessions 3: SaveSession writes the session into --state-dir;
// RestoreSession brings it back (under another id, onto an existing one with
// replace, and on a restarted server) and the restored session continues
// exactly as the original, which continues as the same conversation on the
// runtime's shared cache.
func TestSessionSaveRestore(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 180*time.Second)
	const id, restoredID = "go-e2e-saved", "go-e2e-restored"
	deleteAtEnd(t, id, restoredID)
	prompt := tokenize(t, "Once upon a time, in a small village,", true)
	more := tokenize(t, " Every morning", false)

	first := sessionTurn(t, client, id, greedyTokens(prompt, 6))
	history := slices.Concat(prompt, first.ids)

	saved, err := client.Session(id).Save(ctx, "")
	if err != nil {
		t.Fatalf("SaveSession(%s): %v", id, err)
	}
	wantPath := id + ".session"
	if saved.GetPath() != wantPath || saved.GetFileBytes() == 0 {
		t.Errorf("SaveSession answered path %q, %d bytes; want %q", saved.GetPath(), saved.GetFileBytes(), wantPath)
	}
	if s := saved.GetSession(); s.GetId() != id || int(s.GetTokens()) != len(history) ||
		!s.GetSaved() || s.GetSavedPath() != saved.GetPath() {
		t.Errorf("SaveSession's session %v, want %s with %d tokens, saved at %q", s, id, len(history), saved.GetPath())
	}
	if fi, err := os.Stat(filepath.Join(stateDir, saved.GetPath())); err != nil ||
		uint64(fi.Size()) != saved.GetFileBytes() {
		t.Errorf("the saved file: %v, %v; want %d bytes in %s", fi, err, saved.GetFileBytes(), stateDir)
	}
	wantListed(t, client, id, "the save", func(s *ggufdv1.SessionInfo) bool {
		return s.GetSaved() && s.GetSavedPath() == saved.GetPath()
	})

	restored, err := client.RestoreSession(ctx, saved.GetPath(), restoredID, false)
	if err != nil {
		t.Fatalf("RestoreSession(%s as %s): %v", saved.GetPath(), restoredID, err)
	}
	if restored.GetId() != restoredID || int(restored.GetTokens()) != len(history) {
		t.Errorf("RestoreSession answered %v, want %s with %d tokens", restored, restoredID, len(history))
	}

	original := sessionTurn(t, client, id, greedyTokens(more, 6))
	wantStarted(t, "turn 2 of the original", original.started, id,
		ggufdv1.SessionCache_SESSION_CACHE_HIT, len(history), len(history)-1)
	again := sessionTurn(t, client, restoredID, greedyTokens(more, 6))
	wantStarted(t, "turn 2 of the restored copy", again.started, restoredID,
		ggufdv1.SessionCache_SESSION_CACHE_HIT, len(history), len(history)-1)
	sameContinuation(t, "the restored session's turn 2", again, original)
	sharedFirst, sharedSecond := sharedCacheTurns(t, prompt, 6, more)
	sameContinuation(t, "turn 1 without a session", sharedFirst, first)
	sameContinuation(t, "the original's turn 2", original, sharedSecond)
	wantListed(t, client, id, "another turn", func(s *ggufdv1.SessionInfo) bool {
		return s.GetTurns() == 2 && !s.GetSaved()
	})

	// Onto an existing id only with replace, which brings the saved history
	// back.
	_, err = client.RestoreSession(ctx, saved.GetPath(), restoredID, false)
	wantError(t, err, codes.AlreadyExists, "", 0)
	replaced, err := client.RestoreSession(ctx, saved.GetPath(), restoredID, true)
	if err != nil {
		t.Fatalf("RestoreSession(%s as %s, replace): %v", saved.GetPath(), restoredID, err)
	}
	if int(replaced.GetTokens()) != len(history) {
		t.Errorf("the replaced session has %d tokens, want the saved %d", replaced.GetTokens(), len(history))
	}
	sameContinuation(t, "the replaced session's turn 2",
		sessionTurn(t, client, restoredID, greedyTokens(more, 6)), original)

	// A restarted server (same state directory) restores it under the id it
	// was saved with and continues the same way.
	other, err := startServer(env, stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := other.Stop(); err != nil {
			t.Error(err)
		}
	}()
	c2, err := ggufd.Dial(other.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.LoadModel(ctx, modelFile, nil); err != nil {
		t.Fatalf("LoadModel on the second server: %v", err)
	}
	back, err := c2.RestoreSession(ctx, saved.GetPath(), "", false)
	if err != nil {
		t.Fatalf("RestoreSession(%s) on the second server: %v\n%s", saved.GetPath(), err, other.Log())
	}
	if back.GetId() != id || int(back.GetTokens()) != len(history) {
		t.Errorf("RestoreSession on the second server answered %v, want %s with %d tokens", back, id, len(history))
	}
	sameContinuation(t, "turn 2 on the restarted server",
		sessionTurn(t, c2, id, greedyTokens(more, 6)), original)
}

// Sessions 4: the errors the Sessions calls and session turns answer.
func TestSessionErrors(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	const id, other = "go-e2e-errors", "go-e2e-errors-other"
	deleteAtEnd(t, id, other)
	sessionTurn(t, client, id, greedyTokens(tokenize(t, "Hello", true), 2))
	sessionTurn(t, client, other, greedyTokens(tokenize(t, "Hi", true), 2))

	_, err := client.GenerateText(ctx, &ggufdv1.GenerateRequest{
		SessionId: "not a valid id!", Prompt: &ggufdv1.GenerateRequest_Text{Text: "Hello"},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(2)}})
	wantError(t, err, codes.InvalidArgument, "", 0)

	_, err = client.SaveSession(ctx, "go-e2e-no-such-session", "")
	wantError(t, err, codes.NotFound, "", 0)
	_, err = client.ForkSession(ctx, "go-e2e-no-such-session", "go-e2e-never", 0)
	wantError(t, err, codes.NotFound, "", 0)
	_, err = client.ForkSession(ctx, id, other, 0)
	wantError(t, err, codes.AlreadyExists, "", 0)
	_, err = client.SaveSession(ctx, id, "../escaped.session")
	wantError(t, err, codes.PermissionDenied, "", 0)
	// Save creates no directories: a missing one is a bad path.
	_, err = client.SaveSession(ctx, id, "go-e2e-no-such-dir/x.session")
	if gerr := wantError(t, err, codes.InvalidArgument, "", 0); gerr.FieldViolations["path"] == "" {
		t.Errorf("saving into a missing directory: %v names no field path", gerr)
	}
	_, err = client.RestoreSession(ctx, "../escaped.session", "", false)
	wantError(t, err, codes.PermissionDenied, "", 0)

	// A damaged file is refused and changes nothing.
	saved, err := client.SaveSession(ctx, id, "go-e2e-errors.session")
	if err != nil {
		t.Fatalf("SaveSession: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(stateDir, saved.GetPath()))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := slices.Clone(data)
	corrupt[len(corrupt)/2] ^= 0x55
	for name, bytes := range map[string][]byte{
		"corrupt.session":   corrupt,
		"truncated.session": data[:len(data)/2],
	} {
		if err := os.WriteFile(filepath.Join(stateDir, name), bytes, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := client.RestoreSession(ctx, name, "go-e2e-damaged", false)
		gerr := wantError(t, err, codes.InvalidArgument, "", 0)
		if word := strings.TrimSuffix(name, ".session"); word == "corrupt" {
			if !strings.Contains(gerr.Message, "checksum") {
				t.Errorf("restoring a corrupt file: %q does not name the checksum", gerr.Message)
			}
		} else if !strings.Contains(gerr.Message, "truncated") {
			t.Errorf("restoring a truncated file: %q does not say truncated", gerr.Message)
		}
	}
	if info, list := listed(t, client, "go-e2e-damaged"); info != nil {
		t.Errorf("a refused restore left a session: %v", list)
	}
}
