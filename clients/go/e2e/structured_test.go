package e2e

import (
	"encoding/json"
	"math"
	"regexp"
	"testing"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// Constrained generation and embeddings: the calls issue 12 added to every
// client, against the real server and model.

const phonePattern = `[0-9]{3}-[0-9]{4}`

var embedTexts = []string{"The cat sat on the mat.", "Stock markets fell sharply on Monday.", "The cat sat on the mat."}

func constrainedRequest(prompt string, c *ggufdv1.Constraint, sampling *ggufdv1.SamplingParams) *ggufdv1.GenerateRequest {
	req := textRequest(prompt, 48)
	req.Sampling = sampling
	req.Constraint = c
	return req
}

func greedy() *ggufdv1.SamplingParams {
	return &ggufdv1.SamplingParams{Temperature: proto.Float32(0)}
}

func TestConstraintRegexMatchesAndCompletes(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 120*time.Second)
	whole := regexp.MustCompile(`^` + phonePattern + `$`)
	samplings := []*ggufdv1.SamplingParams{greedy()}
	for seed := uint64(1); seed <= 3; seed++ {
		samplings = append(samplings, &ggufdv1.SamplingParams{
			Temperature: proto.Float32(1), Seed: proto.Uint64(seed)})
	}
	for _, sampling := range samplings {
		r, err := client.GenerateText(ctx, constrainedRequest("My phone number is ",
			ggufd.Regex(phonePattern), sampling))
		if err != nil {
			t.Fatalf("Generate with a regex (%v): %v", sampling, err)
		}
		if !whole.MatchString(r.Text) {
			t.Errorf("output %q does not match %s (%v)", r.Text, phonePattern, sampling)
		}
		if got := r.Finished.GetReason(); got != ggufdv1.FinishReason_FINISH_REASON_CONSTRAINT_COMPLETE {
			t.Errorf("finish reason %v, want CONSTRAINT_COMPLETE (%v)", got, sampling)
		}
		if n := r.Finished.GetUsage().GetCompletionTokens(); n < 1 || n > 8 {
			t.Errorf("%d tokens for 8 characters", n)
		}
	}
}

func TestConstraintJSONSchemaAndGrammar(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 120*time.Second)
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"answer": map[string]any{"enum": []string{"yes", "no"}},
			"sure":   map[string]any{"type": "boolean"},
		},
		"required":             []string{"answer", "sure"},
		"additionalProperties": false,
	}
	c, err := ggufd.Constraint{JSONSchema: schema}.Proto()
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.GenerateText(ctx, constrainedRequest("Is the sky blue? Reply in JSON: ", c, greedy()))
	if err != nil {
		t.Fatalf("Generate with a JSON Schema: %v", err)
	}
	var value struct {
		Answer *string `json:"answer"`
		Sure   *bool   `json:"sure"`
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Text), &fields); err != nil || len(fields) != 2 {
		t.Fatalf("output %q is not an object of two fields: %v", r.Text, err)
	}
	if err := json.Unmarshal([]byte(r.Text), &value); err != nil || value.Answer == nil ||
		(*value.Answer != "yes" && *value.Answer != "no") || value.Sure == nil {
		t.Errorf("output %q does not satisfy the schema (%v)", r.Text, err)
	}
	// After the closing brace the grammar may still allow whitespace, which
	// the model may end with EOS instead.
	switch r.Finished.GetReason() {
	case ggufdv1.FinishReason_FINISH_REASON_CONSTRAINT_COMPLETE, ggufdv1.FinishReason_FINISH_REASON_EOS:
	default:
		t.Errorf("finish reason %v, want CONSTRAINT_COMPLETE or EOS", r.Finished.GetReason())
	}

	base := &ggufdv1.GenerateRequest{
		Sampling:   greedy(),
		Stopping:   &ggufdv1.StoppingParams{MaxTokens: proto.Int32(16)},
		Constraint: ggufd.Grammar(`root ::= ("yes" | "no") "."`),
	}
	answer, err := client.Chat(ctx, base, []*ggufdv1.ChatMessage{ggufd.User("Is water wet? Answer yes or no.")})
	if err != nil {
		t.Fatalf("Chat with a grammar: %v", err)
	}
	if answer.Text != "yes." && answer.Text != "no." {
		t.Errorf("grammar output %q", answer.Text)
	}
	if got := answer.Finished.GetReason(); got != ggufdv1.FinishReason_FINISH_REASON_CONSTRAINT_COMPLETE {
		t.Errorf("finish reason %v, want CONSTRAINT_COMPLETE", got)
	}
}

func TestConstraintInvalidIsInvalidArgument(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	for _, c := range []*ggufdv1.Constraint{
		ggufd.Grammar("root ::= undefined-rule"),
		ggufd.Grammar(`root ::= "unterminated`),
		ggufd.Regex("[0-9"),
		ggufd.JSONSchema("{not json"),
	} {
		_, err := client.GenerateText(ctx, constrainedRequest("Hi", c, greedy()))
		gerr := wantError(t, err, codes.InvalidArgument, "", 0)
		if gerr.ErrorCode != ggufd.ErrorCodeInvalidArgument {
			t.Errorf("%v: error code %d, want %d", c, gerr.ErrorCode, ggufd.ErrorCodeInvalidArgument)
		}
	}
	if _, err := client.GenerateText(ctx, textRequest(prompt, 2)); err != nil {
		t.Errorf("Generate after the refusals: %v", err)
	}
}

func norm(v []float32) float64 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum)
}

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot / (norm(a) * norm(b))
}

func TestEmbedUnitVectorsOfTheModelDimension(t *testing.T) {
	info := loadModel(t)
	waitIdle(t)
	ctx := ctxFor(t, 60*time.Second)
	e, err := client.Embed(ctx, embedTexts, nil)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if e.Dimensions != int(info.GetEmbeddingLength()) || e.Dimensions <= 0 {
		t.Fatalf("dimensions %d, model's embedding length %d", e.Dimensions, info.GetEmbeddingLength())
	}
	if len(e.Vectors) != len(embedTexts) || e.Model != info.GetName() ||
		e.Pooling == ggufdv1.Pooling_POOLING_UNSPECIFIED {
		t.Fatalf("%d vectors, model %q, pooling %v", len(e.Vectors), e.Model, e.Pooling)
	}
	total := 0
	for i, v := range e.Vectors {
		if len(v) != e.Dimensions {
			t.Errorf("vector %d has %d values", i, len(v))
		}
		if math.Abs(norm(v)-1) > 1e-4 {
			t.Errorf("vector %d has norm %v", i, norm(v))
		}
		if e.Tokens[i] <= 0 || e.Truncated[i] {
			t.Errorf("text %d: %d tokens, truncated %v", i, e.Tokens[i], e.Truncated[i])
		}
		total += int(e.Tokens[i])
	}
	if total != e.PromptTokens {
		t.Errorf("prompt tokens %d, sum per text %d", e.PromptTokens, total)
	}
	for i := range e.Vectors[0] {
		if math.Abs(float64(e.Vectors[0][i]-e.Vectors[2][i])) > 1e-6 {
			t.Fatalf("equal texts differ at %d: %v vs %v", i, e.Vectors[0][i], e.Vectors[2][i])
		}
	}
	if c := cosine(e.Vectors[0], e.Vectors[1]); c > 0.999 {
		t.Errorf("different texts have cosine %v", c)
	}

	// Pooling and normalization reach the server.
	mean, err := client.Embed(ctx, embedTexts[1:2], &ggufd.EmbedOptions{Pooling: ggufdv1.Pooling_POOLING_MEAN})
	if err != nil {
		t.Fatalf("Embed mean: %v", err)
	}
	raw, err := client.Embed(ctx, embedTexts[1:2], &ggufd.EmbedOptions{
		Pooling: ggufdv1.Pooling_POOLING_MEAN, Normalize: proto.Bool(false)})
	if err != nil {
		t.Fatalf("Embed mean, not normalized: %v", err)
	}
	if mean.Pooling != ggufdv1.Pooling_POOLING_MEAN || raw.Pooling != ggufdv1.Pooling_POOLING_MEAN {
		t.Errorf("pooling %v and %v, want MEAN", mean.Pooling, raw.Pooling)
	}
	length := norm(raw.Vectors[0])
	if math.Abs(length-1) < 1e-3 {
		t.Errorf("Normalize false still gave a unit vector")
	}
	for i, x := range raw.Vectors[0] {
		if math.Abs(float64(x)/length-float64(mean.Vectors[0][i])) > 1e-5 {
			t.Fatalf("raw/|raw| differs from the normalized vector at %d", i)
		}
	}
	last, err := client.Embed(ctx, embedTexts[1:2], &ggufd.EmbedOptions{Pooling: ggufdv1.Pooling_POOLING_LAST})
	if err != nil {
		t.Fatalf("Embed last: %v", err)
	}
	if c := cosine(last.Vectors[0], mean.Vectors[0]); last.Pooling != ggufdv1.Pooling_POOLING_LAST || c > 0.9999 {
		t.Errorf("last pooling %v, cosine with mean %v", last.Pooling, c)
	}
}
