package ggufd

import (
	"context"
	"errors"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"google.golang.org/grpc"
)

// EmbedOptions are Embed's settings; nil or the zero value asks for the
// model's own pooling, unit-length vectors, and a refusal of any text
// longer than the context.
type EmbedOptions struct {
	// Pooling is how a text's per-token states become one vector
	// (POOLING_MEAN, _LAST, _CLS); POOLING_UNSPECIFIED = the model's own.
	Pooling ggufdv1.Pooling
	// Normalize scales each vector to unit L2 norm; nil = true
	// (proto.Bool(false) keeps the pooled vectors as they are).
	Normalize *bool
	// Truncate keeps the first tokens of a text longer than the context
	// (Embeddings.Truncated says which) instead of INVALID_ARGUMENT.
	Truncate bool
	// AddSpecial adds BOS/EOS as the model wants when nil.
	AddSpecial *bool
	// RequestID names the call in logs and for Cancel; generated when empty.
	RequestID string
}

// Embeddings is an Embed call's answer: one vector per text, in order.
type Embeddings struct {
	// Vectors are Dimensions long each.
	Vectors [][]float32
	// Tokens are, per text, the tokens its vector was computed from (after
	// any truncation); Truncated says which texts were cut.
	Tokens    []int32
	Truncated []bool
	// Model is the model's general.name (or file name).
	Model string
	// Pooling is the pooling actually applied.
	Pooling      ggufdv1.Pooling
	Dimensions   int
	PromptTokens int
}

// Embed computes one embedding vector per text (at most 256) on this
// client's runtime. It is queued and admitted like Generate, so a full
// queue fails it with RESOURCE_EXHAUSTED (QUEUE_FULL) too.
func (c *Client) Embed(ctx context.Context, texts []string, o *EmbedOptions, opts ...grpc.CallOption) (*Embeddings, error) {
	if o == nil {
		o = &EmbedOptions{}
	}
	resp, err := c.inference.Embed(ctx, &ggufdv1.EmbedRequest{
		Runtime:    c.runtime,
		RequestId:  o.RequestID,
		Texts:      texts,
		Pooling:    o.Pooling,
		Normalize:  o.Normalize,
		Truncate:   o.Truncate,
		AddSpecial: o.AddSpecial,
	}, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	out := &Embeddings{
		Model:        resp.GetModel(),
		Pooling:      resp.GetPooling(),
		Dimensions:   int(resp.GetDimensions()),
		PromptTokens: int(resp.GetPromptTokens()),
	}
	for _, e := range resp.GetEmbeddings() {
		out.Vectors = append(out.Vectors, e.GetValues())
		out.Tokens = append(out.Tokens, e.GetTokens())
		out.Truncated = append(out.Truncated, e.GetTruncated())
	}
	if len(out.Vectors) != len(texts) {
		return nil, errors.New("ggufd: Embed answered a different number of vectors than texts")
	}
	return out, nil
}
