package e2e

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const prompt = "Once upon a time"

func textRequest(text string, maxTokens int32) *ggufdv1.GenerateRequest {
	return &ggufdv1.GenerateRequest{
		Prompt:   &ggufdv1.GenerateRequest_Text{Text: text},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(maxTokens)},
	}
}

// longRequest generates 500 tokens whatever the model says, reporting token
// ids so each chunk says how many tokens it carries.
func longRequest(id string) *ggufdv1.GenerateRequest {
	return &ggufdv1.GenerateRequest{
		RequestId: id,
		Prompt:    &ggufdv1.GenerateRequest_Text{Text: prompt},
		Sampling:  &ggufdv1.SamplingParams{Temperature: proto.Float32(0.8), Seed: proto.Uint64(7)},
		Stopping:  &ggufdv1.StoppingParams{MaxTokens: proto.Int32(500), IgnoreEos: proto.Bool(true)},
		Output:    &ggufdv1.OutputOptions{TokenIds: true},
	}
}

// wantError checks that err is a *ggufd.Error with the given gRPC code and,
// when reason is not empty, ggufd's reason and numeric error code.
func wantError(t *testing.T, err error, code codes.Code, reason string, errorCode int) *ggufd.Error {
	t.Helper()
	var gerr *ggufd.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("want *ggufd.Error %s, got %T %v", code, err, err)
	}
	if gerr.Code != code || status.Code(err) != code {
		t.Fatalf("want gRPC code %s, got %s (%v)", code, gerr.Code, err)
	}
	if reason != "" && (gerr.Reason != reason || gerr.ErrorCode != errorCode) {
		t.Fatalf("want reason %s code %d, got %q %d (%v)", reason, errorCode,
			gerr.Reason, gerr.ErrorCode, err)
	}
	return gerr
}

// Scenarios 1 and 2: the inference service is NOT_SERVING until a model is
// loaded through the API; LoadModel streams progress and then the model.
func TestHealthAndLoadModel(t *testing.T) {
	ctx := ctxFor(t, 60*time.Second)
	if st, err := client.Health(ctx, ""); err != nil || st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Health(\"\") = %v, %v; want SERVING", st, err)
	}
	if loaded == nil {
		st, err := client.Health(ctx, ggufd.InferenceService)
		if err != nil || st != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("Health(%s) before the load = %v, %v; want NOT_SERVING",
				ggufd.InferenceService, st, err)
		}
	}
	info := loadModel(t)
	if info.GetArchitecture() != "llama" {
		t.Errorf("architecture %q, want llama (info %v)", info.GetArchitecture(), info)
	}
	if info.GetVocabSize() <= 0 || info.GetContextLength() <= 0 {
		t.Errorf("implausible model info %v", info)
	}
	if len(progress) == 0 {
		t.Errorf("LoadModel streamed no progress before the model info")
	}
	for i, f := range progress {
		if f < 0 || f > 1 || (i > 0 && f < progress[i-1]) {
			t.Errorf("progress %v is not a rising fraction", progress)
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := client.Health(ctx, ggufd.InferenceService)
		if err == nil && st == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Health(%s) after the load = %v, %v; want SERVING",
				ggufd.InferenceService, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Scenario 3: a seeded generation gives exactly ggufctl's text.
func TestGenerateMatchesGgufctl(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	req := textRequest(prompt, 24)
	req.Sampling = &ggufdv1.SamplingParams{Temperature: proto.Float32(0.8), Seed: proto.Uint64(42)}
	gen, err := client.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for chunk, err := range gen.Text() {
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		text.WriteString(chunk)
	}
	got := text.String()
	if got == "" {
		t.Fatal("empty generation")
	}

	out, err := exec.CommandContext(ctx, env.ggufctl, "-s", srv.Addr(), "generate",
		"-n", "24", "-t", "0.8", "--seed", "42", prompt).Output()
	if err != nil {
		t.Fatalf("ggufctl generate: %v", err)
	}
	// ggufctl ends what it wrote with one newline, terminal or not.
	if want := string(out); want != got+"\n" {
		t.Errorf("text differs from ggufctl's\n go:      %q\n ggufctl: %q", got, want)
	}

	started, finished := gen.Started(), gen.Finished()
	if started == nil || finished == nil {
		t.Fatalf("missing Started (%v) or Finished (%v)", started, finished)
	}
	if started.GetSeed() != 42 {
		t.Errorf("Started.seed = %d, want 42", started.GetSeed())
	}
	usage := finished.GetUsage()
	switch finished.GetReason() {
	case ggufdv1.FinishReason_FINISH_REASON_MAX_TOKENS:
		if usage.GetCompletionTokens() != 24 {
			t.Errorf("MAX_TOKENS after %d tokens, want 24", usage.GetCompletionTokens())
		}
	case ggufdv1.FinishReason_FINISH_REASON_EOS:
		if usage.GetCompletionTokens() < 1 || usage.GetCompletionTokens() > 24 {
			t.Errorf("EOS after %d tokens, want 1..24", usage.GetCompletionTokens())
		}
	default:
		t.Errorf("finish reason %v, want MAX_TOKENS or EOS", finished.GetReason())
	}
	if usage.GetPromptTokens() <= 0 || usage.GetPromptTokens() != started.GetPromptTokens() {
		t.Errorf("usage.prompt_tokens %d, Started.prompt_tokens %d",
			usage.GetPromptTokens(), started.GetPromptTokens())
	}
}

// Scenario 4a: cancelling the context mid-stream frees the server within
// one token.
func TestCancelByContext(t *testing.T) {
	loadModel(t)
	before := waitIdle(t).GetCounters()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gen, err := client.Generate(ctx, longRequest(""))
	if err != nil {
		t.Fatal(err)
	}
	received := 0
	for event, err := range gen.Events() {
		if err != nil {
			t.Fatalf("Generate before the cancel: %v", err)
		}
		if chunk := event.GetChunk(); chunk != nil {
			received += len(chunk.GetTokens())
			if received > 0 {
				break
			}
		}
	}
	cancel()
	if received == 0 {
		t.Fatal("the stream ended before its first token")
	}
	_, err = gen.Recv()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after the cancel = %v, want context.Canceled", err)
	}
	wantError(t, err, codes.Canceled, "", 0)

	after := pollStatus(t, "the cancelled generation to be counted", func(st *ggufdv1.RuntimeStatus) bool {
		return st.GetRunningOperation() == "" &&
			st.GetCounters().GetGenerationsCancelled() > before.GetGenerationsCancelled()
	}).GetCounters()
	if d := after.GetGenerationsCancelled() - before.GetGenerationsCancelled(); d != 1 {
		t.Errorf("generations_cancelled went up by %d, want 1", d)
	}
	generated := after.GetGeneratedTokens() - before.GetGeneratedTokens()
	if generated > uint64(received)+2 {
		t.Errorf("server generated %d tokens, client received %d: not freed within one token",
			generated, received)
	}
	t.Logf("received %d tokens, server generated %d", received, generated)
}

// Scenario 4b: Inference.Cancel(request_id) through the client stops a
// running generation, which still ends with Finished{CANCELLED}.
func TestCancelByRequestID(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	const id = "go-e2e-cancel-1"
	gen, err := client.Generate(ctx, longRequest(id))
	if err != nil {
		t.Fatal(err)
	}
	cancelled := false
	received := 0
	for {
		event, err := gen.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if started := event.GetStarted(); started != nil && started.GetRequestId() != id {
			t.Errorf("Started.request_id %q, want %q", started.GetRequestId(), id)
		}
		received += len(event.GetChunk().GetTokens())
		if received > 0 && !cancelled {
			found, state, err := client.Cancel(ctx, id)
			if err != nil || !found || state != "running" {
				t.Fatalf("Cancel(%s) = %v, %q, %v; want found, running", id, found, state, err)
			}
			cancelled = true
		}
	}
	if got := gen.Finished().GetReason(); got != ggufdv1.FinishReason_FINISH_REASON_CANCELLED {
		t.Errorf("finish reason %v, want CANCELLED", got)
	}
	if received >= 500 {
		t.Errorf("all %d tokens arrived despite the cancel", received)
	}
	found, state, err := client.Cancel(ctx, id)
	if err != nil || found || state != "" {
		t.Errorf("Cancel of a finished request = %v, %q, %v; want not found", found, state, err)
	}
}

// Scenario 5: with the worker stalled and the one queue slot taken, the next
// Generate fails RESOURCE_EXHAUSTED/QUEUE_FULL with RetryInfo. The default
// service config retries RESOURCE_EXHAUSTED; the queue stays full through
// every attempt, so the call still ends with it.
func TestQueueFull(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	hooks := ggufdv1.NewTestHooksClient(client.Conn())
	resume := func() {
		_, err := hooks.InjectFault(ctx, &ggufdv1.InjectFaultRequest{
			Runtime: "default", Fault: ggufdv1.Fault_FAULT_RESUME_WORKER})
		if err != nil {
			t.Errorf("FAULT_RESUME_WORKER: %v", err)
		}
	}
	if _, err := hooks.InjectFault(ctx, &ggufdv1.InjectFaultRequest{
		Runtime: "default", Fault: ggufdv1.Fault_FAULT_STALL_WORKER, StallMs: 30000}); err != nil {
		t.Fatalf("FAULT_STALL_WORKER: %v", err)
	}
	resumed := false
	defer func() {
		if !resumed {
			resume()
		}
	}()
	pollStatus(t, "the stall to run", func(st *ggufdv1.RuntimeStatus) bool {
		return st.GetRunningOperation() == "stall"
	})

	type outcome struct {
		result *ggufd.Result
		err    error
	}
	queued := make(chan outcome, 1)
	go func() {
		r, err := client.GenerateText(ctx, textRequest(prompt, 8))
		queued <- outcome{r, err}
	}()
	pollStatus(t, "one queued request", func(st *ggufdv1.RuntimeStatus) bool {
		return st.GetQueueDepth() == 1
	})

	_, err := client.GenerateText(ctx, textRequest(prompt, 8))
	gerr := wantError(t, err, codes.ResourceExhausted, "QUEUE_FULL", ggufd.ErrorCodeQueueFull)
	if gerr.RetryDelay <= 0 || !gerr.Retryable() {
		t.Errorf("QUEUE_FULL without a RetryInfo delay: %+v", gerr)
	}

	resume()
	resumed = true
	select {
	case out := <-queued:
		if out.err != nil {
			t.Fatalf("the queued Generate failed: %v", out.err)
		}
		if out.result.Finished == nil || out.result.Text == "" {
			t.Errorf("the queued Generate ended without text or Finished: %+v", out.result)
		}
	case <-ctx.Done():
		t.Fatal("the queued Generate never completed")
	}
}

// Scenario 6a: a runtime without a model answers FAILED_PRECONDITION with
// reason NO_MODEL, code 5.
func TestNoModelError(t *testing.T) {
	ctx := ctxFor(t, 30*time.Second)
	runtimes := ggufdv1.NewRuntimeClient(client.Conn())
	if _, err := runtimes.CreateRuntime(ctx, &ggufdv1.CreateRuntimeRequest{Name: "empty"}); err != nil {
		t.Fatalf("CreateRuntime(empty): %v", err)
	}
	defer func() {
		if _, err := runtimes.DeleteRuntime(ctx, &ggufdv1.DeleteRuntimeRequest{Name: "empty"}); err != nil {
			t.Errorf("DeleteRuntime(empty): %v", err)
		}
	}()
	empty := client.ForRuntime("empty")
	_, err := empty.GenerateText(ctx, textRequest(prompt, 4))
	wantError(t, err, codes.FailedPrecondition, "NO_MODEL", ggufd.ErrorCodeNoModel)
	_, err = empty.Tokenize(ctx, "Hello")
	wantError(t, err, codes.FailedPrecondition, "NO_MODEL", ggufd.ErrorCodeNoModel)
}

// Scenario 6b: a poisoned runtime answers GENERATION_FAILED (13) until
// Reset.
func TestPoisonedRuntime(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	hooks := ggufdv1.NewTestHooksClient(client.Conn())
	if _, err := hooks.InjectFault(ctx, &ggufdv1.InjectFaultRequest{
		Runtime: "default", Fault: ggufdv1.Fault_FAULT_POISON_NEXT_GENERATE}); err != nil {
		t.Fatalf("FAULT_POISON_NEXT_GENERATE: %v", err)
	}
	defer func() {
		if err := client.Reset(ctx); err != nil {
			t.Errorf("Reset: %v", err)
		}
	}()
	for i := range 2 {
		_, err := client.GenerateText(ctx, textRequest(prompt, 8))
		gerr := wantError(t, err, codes.FailedPrecondition, "GENERATION_FAILED",
			ggufd.ErrorCodeGenerationFailed)
		if gerr.Metadata["error_code"] != "13" {
			t.Errorf("generation %d: ErrorInfo metadata %v", i+1, gerr.Metadata)
		}
	}
	if err := client.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	r, err := client.GenerateText(ctx, textRequest(prompt, 8))
	if err != nil {
		t.Fatalf("Generate after Reset: %v", err)
	}
	if r.Finished == nil || r.Text == "" {
		t.Errorf("Generate after Reset ended without text or Finished: %+v", r)
	}
}

// Scenario 7: the context's deadline ends a long generation with
// DEADLINE_EXCEEDED, and the server drops the work.
func TestDeadline(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := client.GenerateText(ctx, longRequest(""))
	wantError(t, err, codes.DeadlineExceeded, "", 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) is false", err)
	}
	waitIdle(t)
}

// Scenario 8: Tokenize round trip and a chat answer.
func TestTokenizeAndChat(t *testing.T) {
	info := loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	const text = "Hello, world!"
	ids, err := client.Tokenize(ctx, text)
	if err != nil {
		t.Fatalf("Tokenize: %v", err)
	}
	if len(ids) == 0 {
		t.Fatal("Tokenize returned no ids")
	}
	body := ids
	if len(body) > 0 && body[0] == info.GetBosToken() {
		body = body[1:]
	}
	back, err := client.Detokenize(ctx, body)
	if err != nil {
		t.Fatalf("Detokenize: %v", err)
	}
	if back != text {
		t.Errorf("Detokenize(Tokenize(%q)) = %q (ids %v)", text, back, ids)
	}

	base := &ggufdv1.GenerateRequest{
		Sampling: &ggufdv1.SamplingParams{Temperature: proto.Float32(0)},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(32)},
	}
	r, err := client.Chat(ctx, base, []*ggufdv1.ChatMessage{
		ggufd.System("You are a helpful assistant."),
		ggufd.User("What is the capital of France?"),
	})
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if strings.TrimSpace(r.Text) == "" {
		t.Errorf("Chat answered nothing (finished %v)", r.Finished)
	}
	if base.GetPrompt() != nil {
		t.Errorf("Chat modified the caller's request: %v", base)
	}
	t.Logf("chat answer: %q", r.Text)
}
