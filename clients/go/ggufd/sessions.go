package ggufd

import (
	"context"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Sessions are conversations the server keeps on one runtime between
// Generate calls: a Generate with a session_id appends its prompt to the
// session's history and evaluates only what the session's KV cache does not
// hold yet. Started tells what happened (session_id, session_cache,
// session_tokens, cached_tokens). The calls below are the Sessions service
// on this client's runtime.

// Session is a handle on one session of this client's runtime. It holds only
// the id: the server creates the session with its first turn and keeps its
// history, so a handle may be made again at any time (or by another process)
// to continue the same conversation.
type Session struct {
	c  *Client
	id string
}

// Session returns a handle on the session id (at most 128 bytes of
// [A-Za-z0-9._:-]) of this client's runtime. Nothing is sent.
func (c *Client) Session(id string) *Session { return &Session{c: c, id: id} }

// ID is the session's id.
func (s *Session) ID() string { return s.id }

// Generate runs one turn: req's prompt is appended to the session's history,
// so it carries only the new part (text, token ids, or the new chat
// messages). req is not modified; its session_id is set to this session's.
func (s *Session) Generate(ctx context.Context, req *ggufdv1.GenerateRequest, opts ...grpc.CallOption) (*Generation, error) {
	return s.c.Generate(ctx, s.withID(req), opts...)
}

// GenerateText runs one turn to its end (see Generate).
func (s *Session) GenerateText(ctx context.Context, req *ggufdv1.GenerateRequest, opts ...grpc.CallOption) (*Result, error) {
	return s.c.GenerateText(ctx, s.withID(req), opts...)
}

// Chat sends the conversation's new messages (usually one user message; a
// system message too on the first turn) and returns the answer. The server
// renders them as a continuation of the session with the model's chat
// template. base, which may be nil, carries everything but the prompt, as
// for Client.Chat; it is not modified.
func (s *Session) Chat(ctx context.Context, base *ggufdv1.GenerateRequest, messages []*ggufdv1.ChatMessage, opts ...grpc.CallOption) (*Result, error) {
	return s.c.Chat(ctx, s.withID(base), messages, opts...)
}

// Info is the session as the runtime's latest published snapshot lists it,
// or nil when it does not exist (see ListSessions).
func (s *Session) Info(ctx context.Context, opts ...grpc.CallOption) (*ggufdv1.SessionInfo, error) {
	list, err := s.c.ListSessions(ctx, opts...)
	if err != nil {
		return nil, err
	}
	for _, info := range list.GetSessions() {
		if info.GetId() == s.id {
			return info, nil
		}
	}
	return nil, nil
}

// Fork copies the session (history and KV cache) into a new session newID,
// cut to its first keepTokens tokens when keepTokens > 0.
func (s *Session) Fork(ctx context.Context, newID string, keepTokens int32, opts ...grpc.CallOption) (*Session, *ggufdv1.SessionInfo, error) {
	info, err := s.c.ForkSession(ctx, s.id, newID, keepTokens, opts...)
	if err != nil {
		return nil, nil, err
	}
	return s.c.Session(newID), info, nil
}

// Save writes the session to path in the server's state directory (empty =
// "<id>.session").
func (s *Session) Save(ctx context.Context, path string, opts ...grpc.CallOption) (*ggufdv1.SaveSessionResponse, error) {
	return s.c.SaveSession(ctx, s.id, path, opts...)
}

// Delete drops the session; found tells whether it existed.
func (s *Session) Delete(ctx context.Context, opts ...grpc.CallOption) (found bool, err error) {
	return s.c.DeleteSession(ctx, s.id, opts...)
}

func (s *Session) withID(req *ggufdv1.GenerateRequest) *ggufdv1.GenerateRequest {
	out := &ggufdv1.GenerateRequest{}
	if req != nil {
		out = proto.CloneOf(req)
	}
	out.SessionId = s.id
	return out
}

// ListSessions lists the runtime's sessions, most recently used first, with
// the KV cache bytes they hold and the budget they are kept under. It
// answers from the snapshot the runtime publishes after each operation
// (before replying to it, or ending its Generate stream), without queueing
// behind its work.
func (c *Client) ListSessions(ctx context.Context, opts ...grpc.CallOption) (*ggufdv1.ListSessionsResponse, error) {
	resp, err := c.sessions.ListSessions(ctx, &ggufdv1.ListSessionsRequest{Runtime: c.runtime}, opts...)
	return resp, wrapError(err)
}

// DeleteSession drops a session (history and KV cache; its saved files
// stay). found tells whether it existed.
func (c *Client) DeleteSession(ctx context.Context, sessionID string, opts ...grpc.CallOption) (found bool, err error) {
	resp, err := c.sessions.DeleteSession(ctx, &ggufdv1.DeleteSessionRequest{
		Runtime: c.runtime, SessionId: sessionID}, opts...)
	if err != nil {
		return false, wrapError(err)
	}
	return resp.GetFound(), nil
}

// ForkSession starts the session newSessionID from a copy of sessionID's
// state, cut to its first keepTokens tokens of history when keepTokens > 0
// (rewinding or branching a conversation). newSessionID must not exist yet.
func (c *Client) ForkSession(ctx context.Context, sessionID, newSessionID string, keepTokens int32, opts ...grpc.CallOption) (*ggufdv1.SessionInfo, error) {
	req := &ggufdv1.ForkSessionRequest{
		Runtime: c.runtime, SessionId: sessionID, NewSessionId: newSessionID}
	if keepTokens > 0 {
		req.KeepTokens = proto.Int32(keepTokens)
	}
	info, err := c.sessions.ForkSession(ctx, req, opts...)
	return info, wrapError(err)
}

// SaveSession writes a session to path, relative to the server's state
// directory (--state-dir; FAILED_PRECONDITION without one); empty means
// "<sessionID>.session". An existing file is replaced atomically.
func (c *Client) SaveSession(ctx context.Context, sessionID, path string, opts ...grpc.CallOption) (*ggufdv1.SaveSessionResponse, error) {
	resp, err := c.sessions.SaveSession(ctx, &ggufdv1.SaveSessionRequest{
		Runtime: c.runtime, SessionId: sessionID, Path: path}, opts...)
	return resp, wrapError(err)
}

// RestoreSession loads a file SaveSession wrote (path relative to the state
// directory) as the session sessionID (empty = the id it was saved with).
// An existing session with that id is replaced only when replace is set
// (ALREADY_EXISTS otherwise). A file from another model is
// FAILED_PRECONDITION, a corrupt or truncated one INVALID_ARGUMENT.
func (c *Client) RestoreSession(ctx context.Context, path, sessionID string, replace bool, opts ...grpc.CallOption) (*ggufdv1.SessionInfo, error) {
	info, err := c.sessions.RestoreSession(ctx, &ggufdv1.RestoreSessionRequest{
		Runtime: c.runtime, Path: path, SessionId: sessionID, Replace: replace}, opts...)
	return info, wrapError(err)
}
