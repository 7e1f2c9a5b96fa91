package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/store"
)

func serveCmd(g *globals) *cobra.Command {
	cfg := server.DefaultConfig()
	var (
		auth           identity.Config
		migrate        bool
		maxConns       int32
		linkClaim      identity.LinkClaim
		sessionKey     string
		cookieInsecure bool
		otlpEndpoint   string
		readDatabase   string
		debugAddr      string
		memoryLimit    string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve gRPC and the REST gateway until SIGINT/SIGTERM",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.requireDB(); err != nil {
				return err
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			ctx := cmd.Context()
			if err := applyMemoryLimit(memoryLimit, log); err != nil {
				return err
			}
			if debugAddr != "" {
				if err := startDebug(ctx, debugAddr, log); err != nil {
					return err
				}
			}
			tp, shutdownTracing, err := server.NewTracerProvider(ctx, otlpEndpoint)
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := shutdownTracing(sctx); err != nil {
					log.Warn("flushing traces", zap.Error(err))
				}
			}()
			opts := store.Options{MaxConns: maxConns, ReadDatabaseURL: readDatabase}
			if tp != nil {
				opts.TracerProvider, cfg.TracerProvider = tp, tp
				log.Info("tracing on: exporting spans over OTLP")
			}
			st, err := store.Open(ctx, g.databaseURL, opts)
			if err != nil {
				return err
			}
			defer st.Close()
			if migrate {
				if err := migrateUp(ctx, st, log); err != nil {
					return err
				}
			}
			network, err := identity.NewVerifier(ctx, auth)
			if err != nil {
				return err
			}
			// The network issuer's tokens, and those of every identity provider a district trusts.
			// Every process rereads the list when any process changes it (LISTEN/NOTIFY).
			verifier, err := identity.NewTrusted(ctx, identity.TrustedConfig{Network: network, Source: st, Leeway: auth.Leeway,
				RefreshInterval: auth.RefreshInterval, UnknownKeyRefresh: auth.UnknownKeyRefresh,
				WatchFailed: func(err error) { log.Warn("watching trusted issuer changes; retrying", zap.Error(err)) }})
			if err != nil {
				return err
			}
			if !linkClaim.Valid() {
				return fmt.Errorf("--jwt-link-claim must be sub or email, not %q", linkClaim)
			}
			cfg.NetworkIssuers = []identity.Trust{{Issuer: auth.Issuer, LinkClaim: linkClaim}}
			if cfg.Web.Issuer != "" {
				// The network's own provider for the pages: its people link by verified email
				// (districts' own providers are in their identity settings).
				cfg.NetworkIssuers = append(cfg.NetworkIssuers, identity.Trust{Issuer: cfg.Web.Issuer, LinkClaim: identity.LinkEmail})
				if cfg.Web.RedirectURL == "" {
					return fmt.Errorf("--oidc-issuer needs --oidc-redirect-url (this server's /auth/callback)")
				}
			}
			if cfg.Web.RedirectURL != "" {
				if sessionKey != "" {
					if cfg.Web.Key, err = hex.DecodeString(sessionKey); err != nil || len(cfg.Web.Key) != 32 {
						return fmt.Errorf("--session-key must be 64 hex digits (32 bytes)")
					}
				}
				cfg.Web.CookieSecure = !cookieInsecure
			}
			srv, err := server.New(cfg, log, st, verifier)
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "REST gateway, health, metrics and OpenAPI listen address")
	f.IntVar(&cfg.MaxRequestBytes, "max-request-bytes", cfg.MaxRequestBytes, "largest request accepted, in bytes")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long in-flight calls may drain on shutdown")
	f.IntVar(&cfg.MaxTokenBytes, "max-token-bytes", cfg.MaxTokenBytes, "largest Authorization header accepted; larger is refused (401) before verification")
	f.DurationVar(&cfg.HTTPReadHeaderTimeout, "http-read-header-timeout", cfg.HTTPReadHeaderTimeout, "time a REST client has to send its request headers")
	f.DurationVar(&cfg.HTTPReadBodyTimeout, "http-read-body-timeout", cfg.HTTPReadBodyTimeout,
		"time a REST client has to send its request body, from the end of the headers (408 after)")
	f.DurationVar(&cfg.HTTPWriteTimeout, "http-write-timeout", cfg.HTTPWriteTimeout,
		"time from the end of a REST request's headers to the last byte of its response")
	f.DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", cfg.HTTPIdleTimeout, "how long an idle keep-alive REST connection stays open")
	f.StringVar(&auth.Issuer, "jwt-issuer", "lookfor-dev", "required token issuer (iss)")
	f.StringVar((*string)(&linkClaim), "jwt-link-claim", "sub",
		"how a first sign-in with a --jwt-issuer token finds its roster record: sub (the staff id) or email (the verified email)")
	f.StringVar(&auth.Audience, "jwt-audience", "lookfor", "required token audience (aud)")
	f.StringVar(&auth.JWKSFile, "jwks-file", "", "JWKS file with the token verification keys")
	f.StringVar(&auth.JWKSURL, "jwks-url", "", "JWKS URL with the token verification keys (refreshed in the background)")
	f.DurationVar(&auth.Leeway, "jwt-leeway", 30*time.Second, "clock skew allowed when checking exp/nbf/iat")
	f.DurationVar(&auth.RefreshInterval, "jwks-refresh", time.Hour, "how often --jwks-url is fetched again")
	f.DurationVar(&auth.UnknownKeyRefresh, "jwks-unknown-key-refresh", time.Minute,
		"least time between extra --jwks-url fetches caused by tokens with an unknown key id")
	f.IntVar(&cfg.PushLimits.MaxChanges, "push-max-changes", cfg.PushLimits.MaxChanges, "changes accepted in one push")
	f.IntVar(&cfg.PushLimits.MaxBytes, "push-max-bytes", cfg.PushLimits.MaxBytes, "bytes accepted in one push")
	f.DurationVar(&cfg.TombstoneRetention, "tombstone-retention", cfg.TombstoneRetention,
		"how long deletions stay pullable; older cursors get a reset")
	f.IntVar(&cfg.PullMaxBytes, "pull-max-bytes", cfg.PullMaxBytes,
		"a pull page ends early (has_more, cursor at its last record) once its records' stored content reaches this many bytes")
	f.IntVar(&cfg.PullConcurrency, "pull-concurrency", cfg.PullConcurrency,
		"pulls that read and hold a page at once; more wait their turn (bounds memory whatever the number of tablets)")
	f.IntVar(&cfg.MinSchemaVersion, "min-schema-version", cfg.MinSchemaVersion, "refuse tablets whose schema version is lower (CLIENT_TOO_OLD)")
	f.StringVar(&cfg.Web.RedirectURL, "oidc-redirect-url", "",
		"web sign-in: this server's /auth/callback URL, as registered at every provider the pages sign in at (empty: no web sign-in)")
	f.StringVar(&cfg.Web.SecretsDir, "oidc-secrets-dir", "",
		"web sign-in: directory of districts' web client secrets, DIR/<district_id>/<web_client_secret_ref> (their identity settings name the file)")
	f.StringVar(&cfg.Web.Issuer, "oidc-issuer", "", "web sign-in: the network's own identity provider, for people who give no district (optional)")
	f.StringVar(&cfg.Web.ClientID, "oidc-client-id", "", "web sign-in: lookfor's client id at --oidc-issuer")
	f.StringVar(&cfg.Web.ClientSecret, "oidc-client-secret", "", "web sign-in: lookfor's client secret at --oidc-issuer")
	f.DurationVar(&cfg.Web.IdleTimeout, "session-idle-timeout", 30*time.Minute, "web sign-in: a session unused this long ends")
	f.DurationVar(&cfg.Web.Lifetime, "session-lifetime", 12*time.Hour, "web sign-in: any session ends this long after sign-in")
	f.StringVar(&sessionKey, "session-key", "", "web sign-in: 64 hex digits signing CSRF cookies, the same on every process (default: random per process)")
	f.BoolVar(&cookieInsecure, "session-cookie-insecure", false, "web sign-in: send cookies over plain HTTP (development on loopback only)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "serve gRPC and HTTP over TLS with this PEM certificate (chain after it); reread when it changes")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "the PEM private key of --tls-cert")
	f.BoolVar(&migrate, "migrate", false, "apply pending migrations before serving")
	f.Int32Var(&maxConns, "db-max-conns", 0, "PostgreSQL pool size (0: pgx default); the read replica's pool has the same size")
	f.StringVar(&readDatabase, "read-database-url", "",
		"a hot standby (streaming replica) the progress views read their aggregates from; views then say how current they are (as_of)")
	f.StringVar(&otlpEndpoint, "otlp-endpoint", "",
		"export traces over OTLP/gRPC to this collector (http://host:4317, https:// for TLS); empty: OTEL_EXPORTER_OTLP_ENDPOINT, else tracing off")
	f.StringVar(&debugAddr, "debug-addr", "",
		"serve Go's pprof profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
	f.StringVar(&memoryLimit, "memory-limit", "",
		"the Go runtime's soft memory limit, e.g. 100MiB (empty: GOMEMLIMIT or none); the garbage collector works harder near it")
	return cmd
}

func migrateUp(ctx context.Context, st *store.Store, log *zap.Logger) error {
	m, err := st.NewMigrator()
	if err != nil {
		return err
	}
	defer m.Close()
	res, err := m.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	for _, r := range res {
		log.Info("migration applied", zap.String("source", r.Source.Path), zap.Duration("took", r.Duration))
	}
	return nil
}
