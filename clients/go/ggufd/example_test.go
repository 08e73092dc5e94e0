package ggufd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/protobuf/proto"
)

// Streams an answer; compiled by go test but not run (it needs a server).
func ExampleClient_Generate() {
	c, err := ggufd.Dial("127.0.0.1:50051") // plaintext + retry policy
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel() // the deadline, and cancellation, is the context

	gen, err := c.Generate(ctx, &ggufdv1.GenerateRequest{
		Prompt:   &ggufdv1.GenerateRequest_Text{Text: "Once upon a time"},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(64)},
	})
	if err != nil {
		log.Fatal(err)
	}
	for text, err := range gen.Text() {
		var gerr *ggufd.Error
		if errors.As(err, &gerr) { // e.g. RESOURCE_EXHAUSTED QUEUE_FULL 10 1s
			log.Fatal(gerr.Code, gerr.Reason, gerr.ErrorCode, gerr.RetryDelay)
		}
		fmt.Print(text)
	}
	fmt.Println("\n", gen.Finished().GetReason())
}

func ExampleClient_Chat() {
	c, err := ggufd.Dial("127.0.0.1:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.Chat(context.Background(), nil, []*ggufdv1.ChatMessage{
		ggufd.User("What is the capital of France?"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Text)
}

// A conversation the server keeps: each turn sends only the new message and
// the server evaluates only it (Started.session_cache HIT, cached_tokens the
// history).
func ExampleSession_Chat() {
	c, err := ggufd.Dial("127.0.0.1:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	session := c.Session("example-chat")
	defer session.Delete(ctx)
	base := &ggufdv1.GenerateRequest{
		Sampling: &ggufdv1.SamplingParams{Temperature: proto.Float32(0)},
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(64)},
	}
	for _, question := range []string{"My name is Ada.", "What is my name?"} {
		r, err := session.Chat(ctx, base, []*ggufdv1.ChatMessage{ggufd.User(question)})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Text)
		fmt.Println(r.Started.GetSessionCache(), r.Started.GetCachedTokens(), "tokens cached")
	}
}

// Connects over mutual TLS with a bearer token and tells the refusals
// apart; compiled by go test but not run (it needs a server).
func ExampleWithTLS() {
	tlsOption, err := ggufd.WithTLS(ggufd.TLSOptions{
		CAFile:   "ca.pem",     // the CA that signed the server's certificate
		CertFile: "client.pem", // mTLS, for a server with --tls-client-ca
		KeyFile:  "client.key",
	})
	if err != nil {
		log.Fatal(err)
	}
	token, err := ggufd.ReadTokenFile("web.token")
	if err != nil {
		log.Fatal(err)
	}
	c, err := ggufd.Dial("ggufd.example:443", tlsOption, ggufd.WithToken(token))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err = c.Status(ctx)
	switch {
	case errors.Is(err, ggufd.ErrUnauthenticated):
		log.Fatal("the server does not know this token or certificate: ", err)
	case errors.Is(err, ggufd.ErrAccessDenied):
		log.Fatal("Status needs an admin token: ", err)
	case err != nil:
		log.Fatal(err)
	}
}
