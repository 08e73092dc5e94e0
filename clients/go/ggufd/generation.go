package ggufd

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Generation is one Generate call's event stream: one Started, optional
// Progress, Chunks, and a final Finished. Read it with Recv, Events or Text.
// To stop it early, cancel the context given to Generate: the server stops
// within one token. Not safe for concurrent use.
type Generation struct {
	stream   grpc.ServerStreamingClient[ggufdv1.GenerateEvent]
	started  *ggufdv1.Started
	finished *ggufdv1.Finished
	err      error
}

// Result is a generation read to its end.
type Result struct {
	Text     string
	Started  *ggufdv1.Started
	Finished *ggufdv1.Finished
}

// Generate starts a generation. req.Runtime empty means this client's
// runtime. Errors (a full queue, no model, a poisoned runtime, a deadline)
// arrive from the first Recv, as *Error.
func (c *Client) Generate(ctx context.Context, req *ggufdv1.GenerateRequest, opts ...grpc.CallOption) (*Generation, error) {
	if req.GetRuntime() == "" && c.runtime != "" {
		req = cloneWithRuntime(req, c.runtime)
	}
	stream, err := c.inference.Generate(ctx, req, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	return &Generation{stream: stream}, nil
}

// GenerateText runs a generation to its end and returns the whole text.
func (c *Client) GenerateText(ctx context.Context, req *ggufdv1.GenerateRequest, opts ...grpc.CallOption) (*Result, error) {
	g, err := c.Generate(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	return g.Result()
}

// Chat answers a conversation formatted with the model's chat template.
// base, which may be nil, carries everything but the prompt (sampling,
// stopping, request id, template); it is not modified.
func (c *Client) Chat(ctx context.Context, base *ggufdv1.GenerateRequest, messages []*ggufdv1.ChatMessage, opts ...grpc.CallOption) (*Result, error) {
	req := &ggufdv1.GenerateRequest{}
	if base != nil {
		req = proto.CloneOf(base)
	}
	chat := &ggufdv1.ChatPrompt{Messages: messages}
	if old := base.GetChat(); old != nil {
		chat.AddGenerationPrompt = old.AddGenerationPrompt
		chat.Template = old.Template
	}
	req.Prompt = &ggufdv1.GenerateRequest_Chat{Chat: chat}
	return c.GenerateText(ctx, req, opts...)
}

// Message builders for Chat.
func System(content string) *ggufdv1.ChatMessage {
	return &ggufdv1.ChatMessage{Role: "system", Content: content}
}
func User(content string) *ggufdv1.ChatMessage {
	return &ggufdv1.ChatMessage{Role: "user", Content: content}
}
func Assistant(content string) *ggufdv1.ChatMessage {
	return &ggufdv1.ChatMessage{Role: "assistant", Content: content}
}

// Recv returns the next event, io.EOF after the last one, or the call's
// failure as *Error. After an error or io.EOF it keeps returning the same.
func (g *Generation) Recv() (*ggufdv1.GenerateEvent, error) {
	if g.err != nil {
		return nil, g.err
	}
	event, err := g.stream.Recv()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			err = wrapError(err)
		}
		g.err = err
		return nil, err
	}
	switch e := event.GetEvent().(type) {
	case *ggufdv1.GenerateEvent_Started:
		g.started = e.Started
	case *ggufdv1.GenerateEvent_Finished:
		g.finished = e.Finished
	}
	return event, nil
}

// Events ranges over the remaining events. A failure is yielded once, with a
// nil event, as the last pair; the clean end yields nothing more.
func (g *Generation) Events() iter.Seq2[*ggufdv1.GenerateEvent, error] {
	return func(yield func(*ggufdv1.GenerateEvent, error) bool) {
		for {
			event, err := g.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(event, err) || err != nil {
				return
			}
		}
	}
}

// Text ranges over the text of the remaining chunks (empty chunks skipped).
// The stream's failure, if any, is yielded as the last pair.
func (g *Generation) Text() iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for event, err := range g.Events() {
			if err != nil {
				yield("", err)
				return
			}
			if t := event.GetChunk().GetText(); t != "" && !yield(t, nil) {
				return
			}
		}
	}
}

// Result reads the remaining events and returns the concatenated chunk text
// with the Started and Finished events.
func (g *Generation) Result() (*Result, error) {
	var text strings.Builder
	for t, err := range g.Text() {
		if err != nil {
			return nil, err
		}
		text.WriteString(t)
	}
	return &Result{Text: text.String(), Started: g.started, Finished: g.finished}, nil
}

// Started is the Started event once it has been read (nil before).
func (g *Generation) Started() *ggufdv1.Started { return g.started }

// Finished is the Finished event once it has been read (nil before).
func (g *Generation) Finished() *ggufdv1.Finished { return g.finished }

// cloneWithRuntime copies a request that has a runtime field and sets it, so
// the caller's message is never modified.
func cloneWithRuntime[M interface {
	proto.Message
	*ggufdv1.GenerateRequest | *ggufdv1.LoadModelRequest
}](req M, runtime string) M {
	out := proto.CloneOf(req)
	switch r := any(out).(type) {
	case *ggufdv1.GenerateRequest:
		r.Runtime = runtime
	case *ggufdv1.LoadModelRequest:
		r.Runtime = runtime
	}
	return out
}
