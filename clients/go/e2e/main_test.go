// End-to-end tests of the Go client against a real ggufd on 127.0.0.1 with
// a real model. One server serves the whole package; tests run in file
// order and each leaves the default runtime idle and healthy.
package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
)

var (
	env    paths
	srv    *server
	client *ggufd.Client
	// The server's --state-dir (saved sessions), removed at the end.
	stateDir string

	loadOnce  sync.Once
	loadedErr error
	loaded    *ggufdv1.ModelInfo
	progress  []float64
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = pathsFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if stateDir, err = os.MkdirTemp("", "ggufd-go-e2e-state-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(stateDir)
	if srv, err = startServer(env, stateDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if client, err = ggufd.Dial(srv.Addr()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer client.Close()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "ggufd log tail:\n%s\n", srv.Log())
	}
	return code
}

// loadModel loads the model into the default runtime once per process;
// every test that generates calls it, so a -run filter still works.
func loadModel(t *testing.T) *ggufdv1.ModelInfo {
	t.Helper()
	loadOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		loaded, loadedErr = client.LoadModel(ctx, modelFile, func(f float64) {
			progress = append(progress, f)
		})
	})
	if loadedErr != nil {
		t.Fatalf("LoadModel(%s): %v", modelFile, loadedErr)
	}
	return loaded
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pollStatus polls GetStatus (default runtime) until ok accepts it, for at
// most 30 s, and returns the status that satisfied it.
func pollStatus(t *testing.T, what string, ok func(*ggufdv1.RuntimeStatus) bool) *ggufdv1.RuntimeStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := client.Status(ctxFor(t, 5*time.Second))
		if err != nil {
			t.Fatalf("GetStatus while waiting for %s: %v", what, err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last status: %v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until the default runtime runs nothing and queues nothing.
func waitIdle(t *testing.T) *ggufdv1.RuntimeStatus {
	t.Helper()
	return pollStatus(t, "an idle runtime", func(st *ggufdv1.RuntimeStatus) bool {
		return st.GetRunningOperation() == "" && st.GetQueueDepth() == 0
	})
}
