// Command xds-mesh-client checks ggufd behind a proxyless xDS mesh on
// loopback, dialing xds:///SERVICE with the ggufd Go client (the xDS
// bootstrap comes from GRPC_XDS_BOOTSTRAP). Two subcommands:
//
//	scenario: with two replicas and xds-control-plane running, checks that
//	  (a) calls spread over both replicas, (b) a replica drained through the
//	  control plane gets no new calls, and the spread comes back when it is
//	  healthy again, (c) with the control plane killed, the client's cached
//	  configuration keeps working and the replicas keep serving.
//	probe: a replica started while no control plane is reachable is alive,
//	  its plaintext health port answers SERVING, and its main port serves
//	  nothing.
//
// Each check prints one "PASS name: ..." or "FAIL name: ..." line; the exit
// status is 1 when any check failed.
//
// Calls are counted per replica twice: by the peer address gRPC reports for
// each call, and by each replica's own ggufd_requests_total in /metrics.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
	"github.com/ggufd/ggufd/clients/go/ggufd"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and balancers
)

var failed bool

func report(ok bool, name, format string, args ...any) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		failed = true
	}
	fmt.Printf("%s %s: %s\n", verdict, name, fmt.Sprintf(format, args...))
}

type replica struct {
	addr        string // host:port of the gRPC listener
	metricsPort int
}

// tokenizeOK reads the OK Tokenize count from a replica's /metrics.
func (r replica) tokenizeOK() (int, error) {
	host, _, _ := net.SplitHostPort(r.addr)
	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", net.JoinHostPort(host, strconv.Itoa(r.metricsPort))))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "ggufd_requests_total{") &&
			strings.Contains(line, `Tokenize"`) && strings.Contains(line, `code="OK"`) {
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			return int(v), err
		}
	}
	return 0, scanner.Err()
}

type mesh struct {
	client   *ggufd.Client
	replicas []replica
	control  string // http://host:port of the control plane's API
	nodeID   string // this client's node id in the bootstrap
}

// spread sends n Tokenize calls (and two short generations) through the
// mesh and returns the calls each replica answered, by peer address and by
// the replicas' metrics.
func (m *mesh) spread(n int) (byPeer, byMetrics map[string]int, err error) {
	before := map[string]int{}
	for _, r := range m.replicas {
		if before[r.addr], err = r.tokenizeOK(); err != nil {
			return nil, nil, err
		}
	}
	byPeer = map[string]int{}
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var p peer.Peer
		_, err := m.client.Tokenize(ctx, fmt.Sprintf("call %d through the mesh", i), grpc.Peer(&p))
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("call %d: %w", i, err)
		}
		byPeer[p.Addr.String()]++
	}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := m.client.GenerateText(ctx, &ggufdv1.GenerateRequest{
			Prompt:   &ggufdv1.GenerateRequest_Text{Text: "Once upon a time"},
			Stopping: &ggufdv1.StoppingParams{MaxTokens: proto.Int32(4)},
		})
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("generation %d: %w", i, err)
		}
		if res.Finished == nil {
			return nil, nil, fmt.Errorf("generation %d: no Finished event", i)
		}
	}
	byMetrics = map[string]int{}
	for _, r := range m.replicas {
		after, err := r.tokenizeOK()
		if err != nil {
			return nil, nil, err
		}
		byMetrics[r.addr] = after - before[r.addr]
	}
	return byPeer, byMetrics, nil
}

func (m *mesh) post(query string) (string, error) {
	resp, err := http.Post(m.control+"/endpoint?"+query, "", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct{ Version string }
	err = json.Unmarshal(body, &v)
	return v.Version, err
}

// waitForAck waits until this client ACKed the EDS version.
func (m *mesh) waitForAck(version string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.control + "/state")
		if err == nil {
			var state struct {
				Acks map[string]map[string]string
			}
			err = json.NewDecoder(resp.Body).Decode(&state)
			resp.Body.Close()
			if err == nil && state.Acks[m.nodeID]["ClusterLoadAssignment"] == version {
				// The balancer takes the update just after the ACK.
				time.Sleep(300 * time.Millisecond)
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no ACK of EDS version %s from %s", version, m.nodeID)
}

func describe(byPeer, byMetrics map[string]int, replicas []replica) string {
	var parts []string
	for _, r := range replicas {
		parts = append(parts, fmt.Sprintf("%s %d (metrics %d)", r.addr, byPeer[r.addr], byMetrics[r.addr]))
	}
	return strings.Join(parts, ", ")
}

func agree(byPeer, byMetrics map[string]int, replicas []replica, n int) bool {
	total := 0
	for _, r := range replicas {
		if byPeer[r.addr] != byMetrics[r.addr] {
			return false
		}
		total += byPeer[r.addr]
	}
	return total == n
}

// health checks service "" directly on addr (no xDS).
func health(addr string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	c, err := ggufd.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.Health(ctx, "", grpc.WaitForReady(false))
}

// waitServing waits until addr answers health checks directly: an xDS
// server accepts calls only once it has its Listener.
func waitServing(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		var st healthpb.HealthCheckResponse_ServingStatus
		if st, err = health(addr); err == nil && st == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func scenario(args []string) {
	fs := flag.NewFlagSet("scenario", flag.ExitOnError)
	target := fs.String("target", "xds:///ggufd", "the mesh target")
	replicaList := fs.String("replicas", "", "host:port of the two replicas, comma-separated")
	metricsList := fs.String("metrics-ports", "", "their /metrics ports, in the same order")
	control := fs.String("control", "", "host:port of the control plane's HTTP API")
	controlPID := fs.Int("control-pid", 0, "the control plane's pid, killed for check (c)")
	nodeID := fs.String("node-id", "ggufd-mesh-client", "this client's node id in its bootstrap")
	n := fs.Int("n", 30, "Tokenize calls per check")
	_ = fs.Parse(args)

	m := &mesh{control: "http://" + *control, nodeID: *nodeID}
	ports := strings.Split(*metricsList, ",")
	for i, addr := range strings.Split(*replicaList, ",") {
		p, _ := strconv.Atoi(ports[min(i, len(ports)-1)])
		m.replicas = append(m.replicas, replica{addr: addr, metricsPort: p})
	}
	if len(m.replicas) != 2 || *controlPID <= 0 {
		fmt.Fprintln(os.Stderr, "scenario needs -replicas A,B -metrics-ports MA,MB -control ADDR -control-pid PID")
		os.Exit(2)
	}
	a, b := m.replicas[0].addr, m.replicas[1].addr

	// Each replica serves once the control plane sent its server Listener.
	start := time.Now()
	for _, r := range m.replicas {
		err := waitServing(r.addr, 30*time.Second)
		report(err == nil, "replica-listener", "%s serves through its xDS Listener (%v after start of the check)%s",
			r.addr, time.Since(start).Round(time.Millisecond), errSuffix(err))
	}
	if failed {
		os.Exit(1)
	}

	client, err := ggufd.Dial(*target)
	if err != nil {
		report(false, "dial", "%s: %v", *target, err)
		os.Exit(1)
	}
	defer client.Close()
	m.client = client

	// (a) Both replicas get a share.
	byPeer, byMetrics, err := m.spread(*n)
	report(err == nil && byPeer[a] > 0 && byPeer[b] > 0 && agree(byPeer, byMetrics, m.replicas, *n),
		"spread", "%d calls via %s: %s%s", *n, *target, describe(byPeer, byMetrics, m.replicas), errSuffix(err))

	// (b) Drain a: new calls go to b only.
	version, err := m.post("addr=" + a + "&health=DRAINING")
	if err == nil {
		err = m.waitForAck(version)
	}
	if err == nil {
		byPeer, byMetrics, err = m.spread(*n)
	}
	report(err == nil && byPeer[a] == 0 && byPeer[b] == *n && agree(byPeer, byMetrics, m.replicas, *n),
		"drain", "%s DRAINING in EDS (version %s): %s%s", a, version, describe(byPeer, byMetrics, m.replicas), errSuffix(err))

	// ...and back: healthy again, it gets calls again.
	version, err = m.post("addr=" + a + "&health=HEALTHY")
	if err == nil {
		err = m.waitForAck(version)
	}
	if err == nil {
		byPeer, byMetrics, err = m.spread(*n)
	}
	report(err == nil && byPeer[a] > 0 && byPeer[b] > 0 && agree(byPeer, byMetrics, m.replicas, *n),
		"undrain", "%s HEALTHY again (version %s): %s%s", a, version, describe(byPeer, byMetrics, m.replicas), errSuffix(err))

	// (c) Kill the control plane: the cached configuration keeps working.
	err = syscall.Kill(*controlPID, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); err == nil && time.Now().Before(deadline); {
		var conn net.Conn
		if conn, err = net.DialTimeout("tcp", *control, time.Second); err != nil {
			break // gone
		}
		conn.Close()
		err = nil
		time.Sleep(50 * time.Millisecond)
	}
	report(err != nil, "control-plane-killed", "pid %d killed, %s refuses connections", *controlPID, *control)
	// Long enough for every xDS client to see its stream fail and retry.
	time.Sleep(2 * time.Second)
	for round := 1; round <= 2; round++ {
		byPeer, byMetrics, err = m.spread(*n)
		report(err == nil && byPeer[a] > 0 && byPeer[b] > 0 && agree(byPeer, byMetrics, m.replicas, *n),
			"cached-config", "round %d without a control plane: %s%s", round, describe(byPeer, byMetrics, m.replicas), errSuffix(err))
		for _, r := range m.replicas {
			st, err := health(r.addr)
			report(err == nil && st == healthpb.HealthCheckResponse_SERVING, "replica-keeps-serving",
				"round %d: %s answers direct health checks: %v%s", round, r.addr, st, errSuffix(err))
		}
		if round == 1 {
			time.Sleep(3 * time.Second)
		}
	}
}

func probe(args []string) {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	addr := fs.String("addr", "", "the replica's main (xDS) address")
	healthAddr := fs.String("health-addr", "", "its plaintext health-only address")
	_ = fs.Parse(args)

	st, err := health(*healthAddr)
	report(err == nil && st == healthpb.HealthCheckResponse_SERVING, "no-control-plane-health-port",
		"%s answers %v%s", *healthAddr, st, errSuffix(err))
	c, err := ggufd.Dial(*addr)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = c.Tokenize(ctx, "anyone there?")
		cancel()
		c.Close()
	}
	report(err != nil, "no-control-plane-main-port", "%s serves nothing without a Listener:%s", *addr, errSuffix(err))
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: xds-mesh-client scenario|probe [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "scenario":
		scenario(os.Args[2:])
	case "probe":
		probe(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: xds-mesh-client scenario|probe [flags]")
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
