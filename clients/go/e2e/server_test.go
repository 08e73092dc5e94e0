package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The model every test loads through Runtime.LoadModel.
const modelFile = "SmolLM2-135M-Instruct.Q4_1.gguf"

// paths are the binaries and models under test: GGUFD_BIN, GGUFCTL_BIN and
// GGUFD_MODELS_DIR, defaulting to the repo's build tree and models/.
type paths struct {
	ggufd, ggufctl, models string
}

func pathsFromEnv() (paths, error) {
	// go test runs in this package's folder: clients/go/e2e.
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		return paths{}, err
	}
	get := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return filepath.Join(root, def)
	}
	p := paths{
		ggufd:   get("GGUFD_BIN", "build/service/ggufd"),
		ggufctl: get("GGUFCTL_BIN", "build/clients/cpp/ggufctl"),
		models:  get("GGUFD_MODELS_DIR", "models"),
	}
	for _, f := range []string{p.ggufd, p.ggufctl, filepath.Join(p.models, modelFile)} {
		if _, err := os.Stat(f); err != nil {
			return paths{}, fmt.Errorf("missing %s (set GGUFD_BIN, GGUFCTL_BIN, GGUFD_MODELS_DIR): %w", f, err)
		}
	}
	return p, nil
}

// server is one ggufd process on 127.0.0.1 with an OS-chosen port.
type server struct {
	cmd         *exec.Cmd
	port        int
	metricsPort int           // -1 when started with --metrics-port -1
	done        chan struct{} // closed once the process has been waited for

	mu   sync.Mutex
	tail []string // last stderr lines, for failure messages
}

// listening is what the "listening" log line says about the ports.
type listening struct {
	port, metricsPort int
}

// startServer runs `ggufd serve` with no model (the tests load it through
// the API), a one-slot queue, the test hooks and stateDir as the sessions'
// --state-dir.
func startServer(p paths, stateDir string) (*server, error) {
	return startServerWith(p, "--metrics-port", "-1", "--queue-capacity", "1",
		"--enable-test-hooks", "--state-dir", stateDir)
}

// startServerWith runs `ggufd serve --listen 127.0.0.1:0` on the models
// directory with one thread and the extra flags, and waits for the
// "listening" log line that carries the ports.
func startServerWith(p paths, extra ...string) (*server, error) {
	args := append([]string{"serve", "--listen", "127.0.0.1:0",
		"--model-dir", p.models, "--threads", "1"}, extra...)
	cmd := exec.Command(p.ggufd, args...)
	// If this test process dies without cleaning up, the server goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	ports := make(chan listening, 1)
	go s.readLog(stderr, ports)
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case l := <-ports:
		s.port, s.metricsPort = l.port, l.metricsPort
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("ggufd exited before listening:\n%s", s.Log())
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("ggufd did not log \"listening\" within 30 s:\n%s", s.Log())
	}
}

// readLog keeps draining stderr (so the server never blocks on a full pipe),
// remembers the last lines and reports the port from the "listening" line.
func (s *server) readLog(r io.Reader, ports chan<- listening) {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	sent := false
	for scanner.Scan() {
		line := scanner.Text()
		s.mu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > 50 {
			s.tail = s.tail[1:]
		}
		s.mu.Unlock()
		if sent {
			continue
		}
		var entry struct {
			Msg         string `json:"msg"`
			Port        int    `json:"port"`
			MetricsPort int    `json:"metrics_port"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" && entry.Port > 0 {
			ports <- listening{port: entry.Port, metricsPort: entry.MetricsPort}
			sent = true
		}
	}
}

// Log is the server's last stderr lines.
func (s *server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

func (s *server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Stop sends SIGTERM, then SIGKILL if the server has not exited in 10 s.
func (s *server) Stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return errors.New("ggufd ignored SIGTERM for 10 s; killed")
}
