// Package server is lookfor's transport: gRPC handlers, the REST gateway, interceptors, the one
// error-mapping function, pb ↔ domain conversion and the process lifecycle. It may import every
// domain package, store and gen/; with cmd/ it is the only place that sees protobuf and grpc
// (docs/architecture.md).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	gosync "sync"
	"time"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/lookfor-edu/lookfor/export"
	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/roster"
	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// Config is everything the server process needs besides its dependencies.
type Config struct {
	GRPCAddr        string        // e.g. ":9090"
	HTTPAddr        string        // e.g. ":8080"
	MaxRequestBytes int           // largest accepted request other than a push
	ShutdownTimeout time.Duration // how long in-flight calls may drain on shutdown

	MaxTokenBytes int // largest Authorization header (bearer token) accepted

	// HTTP timeouts against slow clients: the headers; the body, from the end of the headers;
	// the whole exchange up to the last byte of the response, from the end of the headers; and
	// an idle keep-alive connection. Zero means none.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadBodyTimeout   time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration

	PushLimits         sync.Limits   // changes and bytes per push
	TombstoneRetention time.Duration // how long deletions stay pullable; older cursors are reset
	MinSchemaVersion   int           // tablets below this schema version are refused
	PullMaxBytes       int           // a pull page stops once its records' stored content reaches this (0: sync.DefaultPullMaxBytes)
	// PullConcurrency is how many pulls read and hold a page at once; more wait their turn
	// (0: DefaultPullConcurrency). Memory for pull pages is about PullConcurrency × PullMaxBytes
	// × a small factor, whatever the number of tablets connected.
	PullConcurrency int

	// NetworkIssuers are the issuers trusted for every district and for network-level people
	// (lookfor serve's --jwt-issuer), besides the ones districts trust in their identity
	// settings. Default: none.
	NetworkIssuers []identity.Trust

	// Web turns on sign-in for the pages (an OpenID Connect relying party and a session cookie
	// the gateway accepts beside bearer tokens). Default: off.
	Web WebConfig

	// TLSCertFile and TLSKeyFile, when set, make both listeners speak TLS with this certificate
	// (PEM, its chain after it) and key; the files are read again when they change.
	TLSCertFile, TLSKeyFile string

	// TracerProvider, when set, traces every REST request and gRPC call (docs/operations.md);
	// nil: tracing is off and no instrumentation is installed. The store traces its
	// statements with the same provider (store.Options).
	TracerProvider trace.TracerProvider

	// ProgressNow is the clock of the progress views (which period is today's, which is in
	// progress); nil: the system clock. Tests set it to read periods in progress.
	ProgressNow func() time.Time
}

// DefaultConfig returns the defaults documented in README.md.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:        ":9090",
		HTTPAddr:        ":8080",
		MaxRequestBytes: 4 << 20,
		ShutdownTimeout: 20 * time.Second,
		MaxTokenBytes:   8 << 10,
		// A tablet on a weak school network may need a while for a 4 MiB push; the write
		// timeout counts from the end of the headers, so it covers reading the body as well.
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPReadBodyTimeout:   2 * time.Minute,
		HTTPWriteTimeout:      5 * time.Minute,
		HTTPIdleTimeout:       2 * time.Minute,
		PushLimits:            sync.DefaultLimits,
		TombstoneRetention:    180 * 24 * time.Hour,
		PullMaxBytes:          sync.DefaultPullMaxBytes,
		PullConcurrency:       DefaultPullConcurrency,
	}
}

// DefaultPullConcurrency is how many pulls hold a page at once by default: enough to keep a
// pool of PostgreSQL connections busy (a pull spends most of its time there), few enough that
// 200 tablets syncing at the same moment do not hold 200 pages.
const DefaultPullConcurrency = 8

// recvLimit is the largest gRPC message accepted: room for the largest push plus its envelope,
// so the push handler can answer an oversize batch with its own clear message.
func (c Config) recvLimit() int {
	return max(c.MaxRequestBytes, c.PushLimits.MaxBytes) + 64<<10
}

// Server is one lookfor process: a gRPC server and a REST gateway in front of it.
type Server struct {
	cfg      Config
	log      *zap.Logger
	store    *store.Store
	verifier TokenVerifier
	web      *web
	tls      *certReloader // nil: plain TCP

	grpc        *grpc.Server
	health      *healthServer
	metrics     *prometheus.Registry
	httpMetrics httpMetrics
	background  *backgroundMetrics

	mu        gosync.Mutex
	grpcAddr  net.Addr
	httpAddr  net.Addr
	ready     chan struct{}
	readyOnce gosync.Once
}

// New wires the services, interceptors and metrics. Nothing listens until Run.
func New(cfg Config, log *zap.Logger, st *store.Store, verifier TokenVerifier) (*Server, error) {
	if cfg.MaxRequestBytes <= 0 {
		return nil, errors.New("server: MaxRequestBytes must be positive")
	}
	if cfg.MaxTokenBytes <= 0 {
		return nil, errors.New("server: MaxTokenBytes must be positive")
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("server: protovalidate: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, verifier: verifier, ready: make(chan struct{})}
	var tlsOpts []grpc.ServerOption
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if s.tls, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, err
		}
		tlsOpts = append(tlsOpts, grpc.Creds(credentials.NewTLS(s.tls.serverConfig())))
	}

	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	grpcMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	s.metrics.MustRegister(grpcMetrics, newStoreCollector(st))
	s.httpMetrics = newHTTPMetrics(s.metrics)
	s.background = newBackgroundMetrics(s.metrics)
	syncMetrics := newSyncMetrics(s.metrics)

	resolver := identity.NewResolver(st, cfg.NetworkIssuers...)
	refusals := &identity.Refusals{Store: st}
	if d, ok := verifier.(interface{ DistrictsByDomain(string) []string }); ok {
		refusals.Domains = d.DistrictsByDomain
	}
	s.web = newWeb(cfg.Web, st.WebSessions(), st, resolver, refusals, log)
	authn := selector.MatchFunc(func(ctx context.Context, c interceptors.CallMeta) bool { return !publicMethod(ctx, c) })
	s.grpc = grpc.NewServer(append(append(tlsOpts, grpcServerTracing(cfg.TracerProvider)...),
		// Twice the push allowance, like the REST body limit: every push the gateway accepts, and
		// any gRPC push up to that size, reaches the push handler, which refuses an oversize batch
		// with its reason (PUSH_TOO_LARGE) instead of the transport's raw error.
		grpc.MaxRecvMsgSize(2*cfg.recvLimit()),
		grpc.ForceServerCodecV2(newTextCodec()),
		// Order (docs/architecture.md): recovery → request id → access log → authentication → validation.
		// Metrics sit right outside recovery so panics (as INTERNAL) and every code are counted:
		// inside it, a panic would unwind past the metrics interceptor uncounted.
		grpc.ChainUnaryInterceptor(
			grpcMetrics.UnaryServerInterceptor(),
			recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(recovered(log))),
			unaryRequestID(),
			unaryAccessLog(log),
			selector.UnaryServerInterceptor(unaryTokenSize(cfg.MaxTokenBytes), authn),
			selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(authenticate(verifier, resolver, s.web)), authn),
			requestSize(cfg.MaxRequestBytes),
			checkText(),
			validate(validator),
			unaryRefusalAudit(st, log),
			viewsAsOf(st.ViewsAsOf),
		),
		grpc.ChainStreamInterceptor(
			grpcMetrics.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(recovered(log))),
			streamRequestID(),
			streamAccessLog(log),
			selector.StreamServerInterceptor(streamTokenSize(cfg.MaxTokenBytes), authn),
			selector.StreamServerInterceptor(auth.StreamServerInterceptor(authenticate(verifier, resolver, s.web)), authn),
			validateStream(validator),
		),
	)...)
	rubrics := &observation.Rubrics{Store: st}
	pb.RegisterRubricServiceServer(s.grpc, &rubricServer{rubrics: rubrics})
	settings := &identity.Settings{Store: st, Changed: func(ctx context.Context) {
		// This process trusts a changed issuer list at once; others on their next reload.
		if r, ok := verifier.(interface{ ReloadIssuers(context.Context) error }); ok {
			if err := r.ReloadIssuers(ctx); err != nil {
				log.Warn("rereading the trusted issuers", zap.Error(err))
			}
		}
	}}
	pb.RegisterIdentityServiceServer(s.grpc, identityServer{settings: settings, network: &identity.NetworkPeople{Store: st}})
	pb.RegisterAuditServiceServer(s.grpc, &auditServer{log: &observation.AuditLog{Store: st}})
	pb.RegisterExportServiceServer(s.grpc, &exportServer{exporter: &export.Exporter{Source: st}})
	pb.RegisterRosterServiceServer(s.grpc, &rosterServer{rosters: &roster.Service{Store: st}})
	pb.RegisterProgressServiceServer(s.grpc, &progressServer{progress: &progress.Service{Store: st, Now: cfg.ProgressNow}})
	pb.RegisterObservationServiceServer(s.grpc, &observationServer{records: &sync.Records{Store: st}})
	pulls := cfg.PullConcurrency
	if pulls <= 0 {
		pulls = DefaultPullConcurrency
	}
	pb.RegisterSyncServiceServer(s.grpc, &syncServer{metrics: syncMetrics, pulls: make(chan struct{}, pulls), svc: &sync.Service{Store: st,
		Limits: cfg.PushLimits, TombstoneRetention: cfg.TombstoneRetention, MinSchemaVersion: cfg.MinSchemaVersion, PullMaxBytes: cfg.PullMaxBytes}})
	s.health = newHealthServer(st.Ping)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	grpcMetrics.InitializeMetrics(s.grpc)
	return s, nil
}

// Addrs returns the bound gRPC and HTTP addresses once Run is listening.
func (s *Server) Addrs() (grpcAddr, httpAddr net.Addr) {
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grpcAddr, s.httpAddr
}

// Ready is closed when both listeners are bound.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// serviceNames are reported by the health service.
func (s *Server) serviceNames() []string {
	names := []string{""}
	for name := range s.grpc.GetServiceInfo() {
		names = append(names, name)
	}
	return names
}

// Run listens on both ports and serves until ctx ends, then shuts down gracefully: health turns
// NOT_SERVING, the HTTP server stops accepting and drains, gRPC drains in-flight calls (up to
// ShutdownTimeout, then stops hard). The caller closes the store afterwards.
func (s *Server) Run(ctx context.Context) error {
	grpcLis, err := net.Listen("tcp", s.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", s.cfg.GRPCAddr, err)
	}
	httpLis, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("http listen %s: %w", s.cfg.HTTPAddr, err)
	}
	return s.Serve(ctx, grpcLis, httpLis)
}

// Serve is Run on listeners the caller opened.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	s.mu.Lock()
	s.grpcAddr, s.httpAddr = grpcLis.Addr(), httpLis.Addr()
	s.mu.Unlock()

	// The gateway is a real gRPC client of this server, so REST passes every interceptor.
	creds := insecure.NewCredentials()
	if s.tls != nil {
		creds = credentials.NewTLS(s.tls.gatewayConfig())
	}
	conn, err := grpc.NewClient("passthrough:///"+loopbackAddr(grpcLis.Addr()), append(grpcClientTracing(s.cfg.TracerProvider),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(2*s.cfg.recvLimit()), grpc.MaxCallRecvMsgSize(64<<20)),
	)...)
	if err != nil {
		return fmt.Errorf("gateway dial: %w", err)
	}
	defer conn.Close()
	handler, err := s.httpHandler(ctx, conn)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: s.cfg.HTTPReadHeaderTimeout,
		WriteTimeout: s.cfg.HTTPWriteTimeout, IdleTimeout: s.cfg.HTTPIdleTimeout}
	if s.tls != nil {
		httpSrv.TLSConfig = s.tls.serverConfig("h2", "http/1.1")
		httpLis = tls.NewListener(httpLis, httpSrv.TLSConfig)
	}

	hctx, stopHealth := context.WithCancel(ctx)
	defer stopHealth()
	names := s.serviceNames()
	s.health.refresh(hctx, names) // every service is known to health checks before Ready
	go s.health.watch(hctx, names, 5*time.Second)
	go s.runBackground(hctx, 500*time.Millisecond, time.Hour)

	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(grpcLis) }()
	go func() { errc <- httpSrv.Serve(httpLis) }()
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("serving", zap.String("grpc", grpcLis.Addr().String()), zap.String("http", httpLis.Addr().String()), zap.Bool("tls", s.tls != nil))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		s.log.Error("listener failed", zap.Error(serveErr))
	}

	s.log.Info("shutting down", zap.Duration("drain_timeout", s.cfg.ShutdownTimeout))
	s.health.Shutdown()
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(drainCtx); err != nil {
		s.log.Warn("http drain incomplete", zap.Error(err))
		_ = httpSrv.Close()
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-drainCtx.Done():
		s.log.Warn("grpc drain timed out; stopping")
		s.grpc.Stop()
		<-stopped
	}
	s.log.Info("stopped")
	if errors.Is(serveErr, http.ErrServerClosed) || errors.Is(serveErr, grpc.ErrServerStopped) {
		serveErr = nil
	}
	return serveErr
}

// runBackground does the database's background work while this process holds the background
// lease (store.Lease), so that of several servers on one database one does it: every tick it
// folds the progress log into the aggregate cells until the log is empty (views read the log
// too, so this only keeps their reads short), and every purgeEvery it removes deletions older
// than the tombstone retention. Both stay safe if two processes ever run them at once.
func (s *Server) runBackground(ctx context.Context, every, purgeEvery time.Duration) {
	lease := s.store.NewLease("background")
	defer lease.Release()
	defer s.background.notLeader()
	t := time.NewTicker(every)
	defer t.Stop()
	var lastPurge time.Time
	wasLeader := false
	for {
		leader, err := lease.Hold(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("background lease", zap.Error(err))
		}
		if leader != wasLeader {
			s.log.Info("background lease", zap.Bool("held", leader))
			wasLeader = leader
			if !leader {
				s.background.notLeader()
			}
		}
		if leader {
			s.background.leader.Set(1)
			s.compactProgress(ctx)
			if time.Since(lastPurge) >= purgeEvery {
				lastPurge = time.Now()
				s.purgeTombstones(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) purgeTombstones(ctx context.Context) {
	s.background.runs.WithLabelValues(jobPurge).Inc()
	n, err := s.store.PurgeTombstones(ctx, time.Now().Add(-s.cfg.TombstoneRetention))
	if err != nil && ctx.Err() == nil {
		s.log.Warn("purging tombstones", zap.Error(err))
	} else if n > 0 {
		s.log.Info("purged tombstones", zap.Int64("observations", n))
	}
}

// compactProgress folds the log in batches until a batch comes back short (caught up).
func (s *Server) compactProgress(ctx context.Context) {
	const batch = 20_000
	s.background.runs.WithLabelValues(jobFold).Inc()
	for {
		start := time.Now()
		n, err := s.store.CompactProgress(ctx, batch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("compacting progress aggregates", zap.Error(err))
			}
			return
		}
		if n < batch {
			s.background.caughtUp(start)
			return
		}
	}
}

// loopbackAddr turns a wildcard listen address into one the gateway can dial.
func loopbackAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}
