// Command xds-control-plane is a small xDS (ADS, state of the world) control
// plane for ggufd's proxyless mesh test on loopback, built on the
// go-control-plane snapshot cache.
//
// It serves one snapshot to every node:
//   - for clients dialing xds:///SERVICE: an API Listener named SERVICE whose
//     HttpConnectionManager takes its routes from RDS, a RouteConfiguration
//     sending everything to one EDS Cluster, and that Cluster's
//     ClusterLoadAssignment with the replicas' endpoints;
//   - for each replica (a gRPC xDS server): the server Listener named
//     after its listening address, whose filter chain's HttpConnectionManager
//     carries an inline route with the non-forwarding action and the router
//     filter, which is what gRPC's xDS server accepts.
//
// A plain HTTP API on loopback changes the endpoints while it runs:
//
//	GET  /state                          endpoints, snapshot version, ACKs
//	POST /endpoint?addr=H:P&health=H     health HEALTHY, DRAINING, UNHEALTHY
//	POST /endpoint?addr=H:P&remove=1     drop the endpoint from EDS
//
// Once listening it prints one JSON line on stdout with both addresses.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	router "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	cachelog "github.com/envoyproxy/go-control-plane/pkg/log"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The default of gRPC's server_listener_resource_name_template.
const serverListenerTemplate = "grpc/server?xds.resource.listening_address=%s"

// allNodes puts every node (clients and servers alike) on one snapshot.
type allNodes struct{}

func (allNodes) ID(*core.Node) string { return "mesh" }

// cacheLog shows the snapshot cache's own log with -v.
type cacheLog struct{}

func (cacheLog) Debugf(format string, args ...any) { log.Printf("cache: "+format, args...) }
func (cacheLog) Infof(format string, args ...any)  { log.Printf("cache: "+format, args...) }
func (cacheLog) Warnf(format string, args ...any)  { log.Printf("cache: "+format, args...) }
func (cacheLog) Errorf(format string, args ...any) { log.Printf("cache: "+format, args...) }

type replica struct {
	Addr   string `json:"addr"`
	Health string `json:"health"` // a core.HealthStatus name
	inEDS  bool
}

type controlPlane struct {
	service string
	cache   cache.SnapshotCache

	mu       sync.Mutex
	version  int
	replicas []*replica
	// The latest version each node ACKed, per resource type (short name).
	acks    map[string]map[string]string
	streams map[int64]string // stream id -> node id
	verbose bool             // log every request
}

func hostPort(addr string) (string, uint32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", 0, fmt.Errorf("%q: need a fixed port", addr)
	}
	return host, uint32(p), nil
}

func socketAddress(host string, port uint32) *core.Address {
	return &core.Address{Address: &core.Address_SocketAddress{
		SocketAddress: &core.SocketAddress{
			Address:       host,
			PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
		}}}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		log.Fatalf("packing %T: %v", m, err)
	}
	return a
}

func routerFilter() *hcm.HttpFilter {
	return &hcm.HttpFilter{
		Name:       "envoy.filters.http.router",
		ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: mustAny(&router.Router{})},
	}
}

func adsSource() *core.ConfigSource {
	return &core.ConfigSource{
		ResourceApiVersion:    core.ApiVersion_V3,
		ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}},
	}
}

// The names of the client-side resources.
func (cp *controlPlane) names() (routeName, clusterName, edsName string) {
	return cp.service + "-route", cp.service + "-cluster", cp.service + "-endpoints"
}

// clientResources: API Listener -> RouteConfiguration -> Cluster (EDS) ->
// ClusterLoadAssignment.
func (cp *controlPlane) clientResources() map[resource.Type][]types.Resource {
	routeName, clusterName, edsName := cp.names()
	apiListener := &listener.Listener{
		Name: cp.service,
		ApiListener: &listener.ApiListener{ApiListener: mustAny(&hcm.HttpConnectionManager{
			StatPrefix: cp.service,
			RouteSpecifier: &hcm.HttpConnectionManager_Rds{Rds: &hcm.Rds{
				ConfigSource:    adsSource(),
				RouteConfigName: routeName,
			}},
			HttpFilters: []*hcm.HttpFilter{routerFilter()},
		})},
	}
	routes := &route.RouteConfiguration{
		Name: routeName,
		VirtualHosts: []*route.VirtualHost{{
			Name:    cp.service,
			Domains: []string{"*"},
			Routes: []*route.Route{{
				Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: ""}},
				Action: &route.Route_Route{Route: &route.RouteAction{
					ClusterSpecifier: &route.RouteAction_Cluster{Cluster: clusterName},
					// The xDS resolver's configuration replaces the client's
					// own retry policy: the same one, from the mesh (a full
					// queue or an unreachable replica never ran the call).
					RetryPolicy: &route.RetryPolicy{
						RetryOn:    "unavailable,resource-exhausted",
						NumRetries: wrapperspb.UInt32(3),
						RetryBackOff: &route.RetryPolicy_RetryBackOff{
							BaseInterval: durationpb.New(200 * time.Millisecond),
							MaxInterval:  durationpb.New(2 * time.Second),
						},
					},
				}},
			}},
		}},
	}
	edsCluster := &cluster.Cluster{
		Name:                 clusterName,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig: &cluster.Cluster_EdsClusterConfig{
			EdsConfig:   adsSource(),
			ServiceName: edsName,
		},
		LbPolicy:       cluster.Cluster_ROUND_ROBIN,
		ConnectTimeout: durationpb.New(2 * time.Second),
	}
	var lbEndpoints []*endpoint.LbEndpoint
	for _, r := range cp.replicas {
		if !r.inEDS {
			continue
		}
		host, port, _ := hostPort(r.Addr) // checked when added
		lbEndpoints = append(lbEndpoints, &endpoint.LbEndpoint{
			HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
				Address: socketAddress(host, port),
			}},
			HealthStatus: core.HealthStatus(core.HealthStatus_value[r.Health]),
		})
	}
	assignment := &endpoint.ClusterLoadAssignment{
		ClusterName: edsName,
		Endpoints: []*endpoint.LocalityLbEndpoints{{
			Locality: &core.Locality{Region: "loopback"},
			// gRPC ignores a locality without a weight.
			LoadBalancingWeight: wrapperspb.UInt32(1),
			LbEndpoints:         lbEndpoints,
		}},
	}
	return map[resource.Type][]types.Resource{
		resource.ListenerType: {apiListener},
		resource.RouteType:    {routes},
		resource.ClusterType:  {edsCluster},
		resource.EndpointType: {assignment},
	}
}

// serverListener is what a gRPC xDS server listening on addr asks for.
func serverListener(addr string) *listener.Listener {
	host, port, _ := hostPort(addr)
	manager := &hcm.HttpConnectionManager{
		StatPrefix: "inbound",
		RouteSpecifier: &hcm.HttpConnectionManager_RouteConfig{RouteConfig: &route.RouteConfiguration{
			Name: "inbound",
			VirtualHosts: []*route.VirtualHost{{
				Name:    "inbound",
				Domains: []string{"*"},
				Routes: []*route.Route{{
					Match:  &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
					Action: &route.Route_NonForwardingAction{NonForwardingAction: &route.NonForwardingAction{}},
				}},
			}},
		}},
		HttpFilters: []*hcm.HttpFilter{routerFilter()},
	}
	return &listener.Listener{
		Name:             strings.Replace(serverListenerTemplate, "%s", addr, 1),
		Address:          socketAddress(host, port),
		TrafficDirection: core.TrafficDirection_INBOUND,
		FilterChains: []*listener.FilterChain{{
			Name: "inbound",
			Filters: []*listener.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listener.Filter_TypedConfig{TypedConfig: mustAny(manager)},
			}},
		}},
	}
}

// publish makes and sets the next snapshot; cp.mu is held.
func (cp *controlPlane) publish() error {
	cp.version++
	resources := cp.clientResources()
	// A replica keeps its server Listener while drained or removed from
	// EDS: it goes on serving the connections it has. The Listeners are
	// resent with every version; gRPC ignores a resource identical to the
	// one it has, so that costs no connection.
	for _, r := range cp.replicas {
		resources[resource.ListenerType] = append(resources[resource.ListenerType], serverListener(r.Addr))
	}
	snapshot, err := cache.NewSnapshot(strconv.Itoa(cp.version), resources)
	if err != nil {
		return err
	}
	// No snapshot.Consistent(): it does not follow an API Listener's RDS
	// name, and gRPC reports a missing resource itself.
	return cp.cache.SetSnapshot(context.Background(), "mesh", snapshot)
}

func shortType(url string) string { return url[strings.LastIndex(url, ".")+1:] }

// onRequest records ACKs: a request naming the version it last applied,
// with no error detail. gRPC sends the node only on a stream's first
// request.
func (cp *controlPlane) onRequest(stream int64, req *discovery.DiscoveryRequest) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if req.GetNode() != nil {
		cp.streams[stream] = req.GetNode().GetId()
	}
	node := cp.streams[stream]
	if cp.verbose {
		log.Printf("stream %d node %s: %s %q version %q nonce %q", stream, node,
			shortType(req.GetTypeUrl()), req.GetResourceNames(), req.GetVersionInfo(), req.GetResponseNonce())
	}
	if req.GetErrorDetail() != nil {
		log.Printf("NACK from %s for %s: %s", node, shortType(req.GetTypeUrl()), req.GetErrorDetail().GetMessage())
		return nil
	}
	if req.GetVersionInfo() == "" {
		return nil
	}
	if cp.acks[node] == nil {
		cp.acks[node] = map[string]string{}
	}
	cp.acks[node][shortType(req.GetTypeUrl())] = req.GetVersionInfo()
	return nil
}

func (cp *controlPlane) handleState(w http.ResponseWriter, _ *http.Request) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":  strconv.Itoa(cp.version),
		"replicas": cp.replicas,
		"eds": func() []string {
			var in []string
			for _, r := range cp.replicas {
				if r.inEDS {
					in = append(in, r.Addr)
				}
			}
			return in
		}(),
		"acks": cp.acks,
	})
}

func (cp *controlPlane) handleEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	addr := r.URL.Query().Get("addr")
	cp.mu.Lock()
	defer cp.mu.Unlock()
	i := slices.IndexFunc(cp.replicas, func(x *replica) bool { return x.Addr == addr })
	if i < 0 {
		http.Error(w, "unknown endpoint "+addr, http.StatusNotFound)
		return
	}
	switch {
	case r.URL.Query().Get("remove") != "":
		cp.replicas[i].inEDS = false
	case r.URL.Query().Get("health") != "":
		health := strings.ToUpper(r.URL.Query().Get("health"))
		if _, ok := core.HealthStatus_value[health]; !ok {
			http.Error(w, "unknown health status "+health, http.StatusBadRequest)
			return
		}
		cp.replicas[i].Health = health
		cp.replicas[i].inEDS = true
	default:
		http.Error(w, "need health= or remove=", http.StatusBadRequest)
		return
	}
	if err := cp.publish(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	log.Printf("version %d: %s %s", cp.version, addr, r.URL.RawQuery)
	fmt.Fprintf(w, "{\"version\":%q}\n", strconv.Itoa(cp.version))
}

func main() {
	xdsAddr := flag.String("listen", "127.0.0.1:0", "xDS (ADS) gRPC address")
	controlAddr := flag.String("control", "127.0.0.1:0", "HTTP control API address (keep it on loopback)")
	service := flag.String("service", "ggufd", "the name clients dial as xds:///NAME")
	replicaList := flag.String("replicas", "", "comma-separated host:port of the replicas (fixed ports)")
	verbose := flag.Bool("v", false, "log every discovery request")
	flag.Parse()
	log.SetPrefix("xds-control-plane: ")

	var logger cachelog.Logger
	if *verbose {
		logger = cacheLog{}
	}
	cp := &controlPlane{
		service: *service,
		// ads=false although everything goes over ADS: in ADS mode the cache
		// answers only a request naming every resource of the type in the
		// snapshot, and each node here asks for its own Listener alone.
		cache:   cache.NewSnapshotCache(false, allNodes{}, logger),
		acks:    map[string]map[string]string{},
		streams: map[int64]string{},
		verbose: *verbose,
	}
	for _, addr := range strings.Split(*replicaList, ",") {
		if addr == "" {
			continue
		}
		if _, _, err := hostPort(addr); err != nil {
			log.Fatalf("-replicas: %v", err)
		}
		cp.replicas = append(cp.replicas, &replica{Addr: addr, Health: "HEALTHY", inEDS: true})
	}
	if len(cp.replicas) == 0 {
		log.Fatal("-replicas: none given")
	}
	cp.mu.Lock()
	if err := cp.publish(); err != nil {
		log.Fatalf("snapshot: %v", err)
	}
	cp.mu.Unlock()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	xds := server.NewServer(ctx, cp.cache, server.CallbackFuncs{
		StreamRequestFunc: cp.onRequest,
	})
	grpcServer := grpc.NewServer()
	discovery.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)
	xdsListener, err := net.Listen("tcp", *xdsAddr)
	if err != nil {
		log.Fatal(err)
	}
	controlListener, err := net.Listen("tcp", *controlAddr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/state", cp.handleState)
	mux.HandleFunc("/endpoint", cp.handleEndpoint)
	go func() { _ = grpcServer.Serve(xdsListener) }()
	go func() { _ = http.Serve(controlListener, mux) }()
	ready, _ := json.Marshal(map[string]string{
		"xds":     xdsListener.Addr().String(),
		"control": controlListener.Addr().String(),
	})
	fmt.Println(string(ready))
	os.Stdout.Sync()
	<-ctx.Done()
	grpcServer.Stop()
}
