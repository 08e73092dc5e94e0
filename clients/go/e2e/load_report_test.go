package e2e

import (
	"io"
	"sync"
	"testing"
	"time"

	v3orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/orca" // parses endpoint-load-metrics-bin for balancers
	"google.golang.org/protobuf/proto"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
)

// A load-balancing policy that only records the per-call load reports gRPC
// hands it, as weighted_round_robin (without out-of-band reporting) or any
// custom policy receives them: DoneInfo.ServerLoad.
const loadRecorderPolicy = "ggufd_test_load_recorder"

var loadReports = &reportLog{}

type reportLog struct {
	mu      sync.Mutex
	reports []*v3orcapb.OrcaLoadReport
}

func (l *reportLog) add(r *v3orcapb.OrcaLoadReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, r)
}

// last returns the last report and how many there were.
func (l *reportLog) last() (*v3orcapb.OrcaLoadReport, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reports) == 0 {
		return nil, 0
	}
	return l.reports[len(l.reports)-1], len(l.reports)
}

type recordingPicker struct{ sc balancer.SubConn }

func (p recordingPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{SubConn: p.sc, Done: func(d balancer.DoneInfo) {
		if r, ok := d.ServerLoad.(*v3orcapb.OrcaLoadReport); ok && r != nil {
			loadReports.add(r)
		}
	}}, nil
}

type recordingPickerBuilder struct{}

func (recordingPickerBuilder) Build(info base.PickerBuildInfo) balancer.Picker {
	for sc := range info.ReadySCs {
		return recordingPicker{sc: sc}
	}
	return base.NewErrPicker(balancer.ErrNoSubConnAvailable)
}

func init() {
	balancer.Register(base.NewBalancerBuilder(loadRecorderPolicy, recordingPickerBuilder{}, base.Config{}))
}

// ggufd writes the ORCA per-call load report (endpoint-load-metrics-bin)
// itself; gRPC-Go's balancers must receive it decoded, from unary and
// streaming calls alike.
func TestLoadReportReachesTheBalancer(t *testing.T) {
	loadModel(t)
	waitIdle(t)
	conn, err := grpc.NewClient(srv.Addr(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"`+loadRecorderPolicy+`": {}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stub := ggufdv1.NewInferenceClient(conn)

	if _, err := stub.Tokenize(ctxFor(t, 30*time.Second), &ggufdv1.TokenizeRequest{Text: prompt}); err != nil {
		t.Fatalf("Tokenize: %v", err)
	}
	report, n := loadReports.last()
	if n != 1 {
		t.Fatalf("%d load reports after one Tokenize, want 1", n)
	}
	if got := report.GetNamedMetrics()["queue_capacity"]; got <= 0 {
		t.Errorf("queue_capacity = %v, want > 0", got)
	}
	if report.GetRpsFractional() <= 0 || report.GetApplicationUtilization() <= 0 {
		t.Errorf("rps_fractional %v, application_utilization %v: want both > 0 (weighted_round_robin ignores a backend otherwise)",
			report.GetRpsFractional(), report.GetApplicationUtilization())
	}

	request := textRequest(prompt, 4)
	request.Stopping.IgnoreEos = proto.Bool(true)
	stream, err := stub.Generate(ctxFor(t, 60*time.Second), request)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("Generate: %v", err)
		}
	}
	report, n = loadReports.last()
	if n != 2 {
		t.Fatalf("%d load reports after a Tokenize and a Generate, want 2", n)
	}
	if got := report.GetRequestCost()["completion_tokens"]; got != 4 {
		t.Errorf("request_cost completion_tokens = %v, want 4", got)
	}
	if got, ok := report.GetUtilization()["queue"]; !ok || got != 0 {
		t.Errorf("utilization queue = %v (present: %v), want 0 on an idle runtime", got, ok)
	}
}
