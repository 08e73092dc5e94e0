// Command ggufd-example streams an answer from a ggufd server to stdout.
//
//	ggufd-example [-server 127.0.0.1:50051] [-load FILE] [-chat] [-n 64]
//	              [-t 0.8] [-seed 42] [-timeout 60s] [-tls-ca ca.pem]
//	              [-tls-cert c.pem -tls-key c.key] [-token-file FILE]
//	              [-regex RE | -json-schema JSON | -grammar-file FILE | -embed] PROMPT
//
// -regex, -json-schema and -grammar-file constrain the output (one of
// them); -embed prints the prompt's embedding vector instead of generating.
// The connection flags are ggufctl's: -tls, -tls-ca, -tls-cert, -tls-key,
// -tls-server-name, -token, -token-file.
//
// Ctrl-C cancels the generation (the server stops within one token).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ggufd/ggufd/clients/go/cmd/internal/connflags"
	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/protobuf/proto"
)

func main() {
	os.Exit(run())
}

func run() int {
	server := flag.String("server", "127.0.0.1:50051", "ggufd address")
	runtime := flag.String("runtime", "", "runtime instance (empty = default)")
	load := flag.String("load", "", "load this model file (relative to the server's --model-dir) first")
	chat := flag.Bool("chat", false, "send the prompt as a user chat message")
	maxTokens := flag.Int("n", 64, "most tokens to generate (0 = until the context is full)")
	temperature := flag.Float64("t", -1, "sampling temperature (0 = greedy; negative = the server's default)")
	seed := flag.Int64("seed", -1, "RNG seed (negative = the server's default)")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for the whole run")
	regex := flag.String("regex", "", "constrain the output to this regular expression")
	jsonSchema := flag.String("json-schema", "", "constrain the output to JSON valid under this JSON Schema")
	grammarFile := flag.String("grammar-file", "", "constrain the output to this GBNF grammar file")
	embed := flag.Bool("embed", false, "print the prompt's embedding instead of generating")
	conn := connflags.Register(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] PROMPT\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	dialOptions, err := conn.DialOptions()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if flag.NArg() != 1 {
		flag.Usage()
		return 2
	}
	constraint := ggufd.Constraint{Regex: *regex}
	if *jsonSchema != "" {
		constraint.JSONSchema = *jsonSchema
	}
	if *grammarFile != "" {
		gbnf, err := os.ReadFile(*grammarFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		constraint.Grammar = string(gbnf)
	}
	// More than one kind is refused here, before anything is sent.
	constraintProto, err := constraint.Proto()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	// Ctrl-C cancels the context, which cancels the call on the server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	client, err := ggufd.Dial(*server, dialOptions...)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	client = client.ForRuntime(*runtime)

	if *load != "" {
		info, err := client.LoadModel(ctx, *load, nil)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(os.Stderr, "[loaded %s: %s, %d layers, context %d]\n",
			info.GetName(), info.GetArchitecture(), info.GetLayers(), info.GetContextLength())
	}

	if *embed {
		e, err := client.Embed(ctx, []string{flag.Arg(0)}, nil)
		if err != nil {
			return fail(err)
		}
		head := e.Vectors[0][:min(8, len(e.Vectors[0]))]
		fmt.Printf("%v ... (%d dimensions, %d tokens, %s, %s)\n", head, e.Dimensions, e.Tokens[0],
			strings.TrimPrefix(e.Pooling.String(), "POOLING_"), e.Model)
		return 0
	}

	req := &ggufdv1.GenerateRequest{
		Stopping:   &ggufdv1.StoppingParams{MaxTokens: proto.Int32(int32(*maxTokens))},
		Sampling:   &ggufdv1.SamplingParams{},
		Constraint: constraintProto,
	}
	if *temperature >= 0 {
		req.Sampling.Temperature = proto.Float32(float32(*temperature))
	}
	if *seed >= 0 {
		req.Sampling.Seed = proto.Uint64(uint64(*seed))
	}
	if *chat {
		req.Prompt = &ggufdv1.GenerateRequest_Chat{Chat: &ggufdv1.ChatPrompt{
			Messages: []*ggufdv1.ChatMessage{ggufd.User(flag.Arg(0))}}}
	} else {
		req.Prompt = &ggufdv1.GenerateRequest_Text{Text: flag.Arg(0)}
	}

	gen, err := client.Generate(ctx, req)
	if err != nil {
		return fail(err)
	}
	wrote := false
	for text, err := range gen.Text() {
		if err != nil {
			if wrote {
				fmt.Println()
			}
			if errors.Is(err, context.Canceled) {
				return 130
			}
			return fail(err)
		}
		fmt.Print(text)
		wrote = true
	}
	if wrote {
		fmt.Println()
	}
	if f := gen.Finished(); f != nil {
		fmt.Fprintf(os.Stderr, "[%s: %d prompt + %d generated tokens, %.1f tokens/s]\n",
			strings.TrimPrefix(f.GetReason().String(), "FINISH_REASON_"),
			f.GetUsage().GetPromptTokens(), f.GetUsage().GetCompletionTokens(),
			f.GetTimings().GetDecodeTokensPerSecond())
	}
	return 0
}

// fail prints err with ggufd's reason and error code when it has them.
func fail(err error) int {
	var gerr *ggufd.Error
	if errors.As(err, &gerr) && gerr.RetryDelay > 0 {
		fmt.Fprintf(os.Stderr, "%v; retry in %v\n", err, gerr.RetryDelay)
		return 3
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}
