// Command ggufd-chat holds a multi-turn chat on one ggufd session: each turn
// sends only the new user message, and the server, which keeps the
// conversation's history and KV cache, evaluates only that.
//
//	ggufd-chat [-server 127.0.0.1:50051] [-load FILE] [-session ID] [-system TEXT]
//	           [-n 128] [-t 0] [-keep] [-tls-ca ca.pem] [-tls-cert c.pem -tls-key c.key]
//	           [-token-file FILE] [MESSAGE...]
//
// Each MESSAGE is one user turn; without any, turns are read from stdin, one
// per line. After each answer a line on stderr tells what the session's
// cache held (HIT: only the new message was evaluated). The session is
// deleted at the end unless -keep. Ctrl-C cancels the turn being generated.
package main

import (
	"bufio"
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
	sessionID := flag.String("session", "", "session id (empty = a new one); an existing session is continued")
	system := flag.String("system", "", "system message sent with the first turn")
	maxTokens := flag.Int("n", 128, "most tokens per answer (0 = until the context is full)")
	temperature := flag.Float64("t", 0, "sampling temperature (0 = greedy; negative = the server's default)")
	keep := flag.Bool("keep", false, "keep the session on the server at the end")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for each turn")
	conn := connflags.Register(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [MESSAGE...]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	dialOptions, err := conn.DialOptions()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	// Ctrl-C cancels the context, which cancels the turn on the server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	client, err := ggufd.Dial(*server, dialOptions...)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	client = client.ForRuntime(*runtime)

	if *load != "" {
		lctx, cancel := context.WithTimeout(ctx, *timeout)
		info, err := client.LoadModel(lctx, *load, nil)
		cancel()
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(os.Stderr, "[loaded %s: %s, context %d]\n",
			info.GetName(), info.GetArchitecture(), info.GetContextLength())
	}

	id := *sessionID
	if id == "" {
		id = fmt.Sprintf("ggufd-chat-%d-%d", os.Getpid(), time.Now().UnixMilli())
	}
	session := client.Session(id)
	if !*keep {
		defer func() {
			// The run's context may be cancelled by now.
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := session.Delete(dctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}

	base := &ggufdv1.GenerateRequest{
		Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(int32(*maxTokens))},
		Sampling: &ggufdv1.SamplingParams{},
	}
	if *temperature >= 0 {
		base.Sampling.Temperature = proto.Float32(float32(*temperature))
	}

	interactive := flag.NArg() == 0
	turns := userTurns(ctx, flag.Args())
	first := true
	for {
		if interactive {
			fmt.Print("> ")
		}
		var message string
		select {
		case <-ctx.Done():
			return 130
		case m, ok := <-turns:
			if !ok {
				if interactive {
					fmt.Println()
				}
				return 0
			}
			message = m
		}
		if !interactive {
			fmt.Printf("> %s\n", message)
		}
		if strings.TrimSpace(message) == "" {
			continue
		}
		messages := []*ggufdv1.ChatMessage{ggufd.User(message)}
		if first && *system != "" {
			messages = append([]*ggufdv1.ChatMessage{ggufd.System(*system)}, messages...)
		}
		first = false
		if code := turn(ctx, session, base, messages, *timeout); code != 0 {
			return code
		}
	}
}

// turn streams one answer to stdout and reports the session's state on
// stderr; it returns the exit status to stop with, or 0 to go on.
func turn(ctx context.Context, session *ggufd.Session, base *ggufdv1.GenerateRequest,
	messages []*ggufdv1.ChatMessage, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := proto.CloneOf(base)
	req.Prompt = &ggufdv1.GenerateRequest_Chat{Chat: &ggufdv1.ChatPrompt{Messages: messages}}
	gen, err := session.Generate(ctx, req)
	if err != nil {
		return fail(err)
	}
	for text, err := range gen.Text() {
		if err != nil {
			fmt.Println()
			if errors.Is(err, context.Canceled) {
				return 130
			}
			return fail(err)
		}
		fmt.Print(text)
	}
	fmt.Println()
	s, f := gen.Started(), gen.Finished()
	fmt.Fprintf(os.Stderr, "[session %s: %s, history %d tokens, %d of %d prompt tokens cached, %d generated, %s]\n",
		s.GetSessionId(), strings.TrimPrefix(s.GetSessionCache().String(), "SESSION_CACHE_"),
		s.GetSessionTokens(), s.GetCachedTokens(), s.GetPromptTokens(),
		f.GetUsage().GetCompletionTokens(), strings.TrimPrefix(f.GetReason().String(), "FINISH_REASON_"))
	return 0
}

// userTurns sends the arguments, or else stdin's lines, until ctx ends.
func userTurns(ctx context.Context, args []string) <-chan string {
	out := make(chan string)
	go func() {
		defer close(out)
		send := func(m string) bool {
			select {
			case out <- m:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if len(args) > 0 {
			for _, a := range args {
				if !send(a) {
					return
				}
			}
			return
		}
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(make([]byte, 64*1024), 1024*1024)
		for in.Scan() && send(in.Text()) {
		}
	}()
	return out
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
