package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/medimg/medimg/apidoc"
	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/storage/metered"
	"github.com/medimg/medimg/users"
	"github.com/medimg/medimg/viewer"
)

// run is the whole program: configuration, wiring, serving, and shutdown when ctx ends. It prints
// "medimg listening on http://ADDR" to stdout once it accepts connections (tests read the port).
// "medimg user …" manages user accounts instead (see runUser), "medimg blobs …" the blob store (see
// runBlobs), "medimg import …" loads files into the stores (see runImport).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "user" {
		return runUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "blobs" {
		return runBlobs(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	reg := prometheus.NewRegistry()
	dbQueries := newQueryMetrics()
	store, err := queries.Open(ctx, cfg.database, migrations.For, queries.WithQueryObserver(dbQueries.observe))
	if err != nil {
		return err
	}
	defer store.Close()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newPoolCollector(store.PoolStats, store.Engine() != queries.SQLite), dbQueries.duration, dbQueries.errors)
	opened, err := openBlobs(ctx, cfg.blobs, log)
	if err != nil {
		return err
	}
	blobs, err := metered.New(opened, reg)
	if err != nil {
		return err
	}
	dw, err := dicomweb.New(dicomweb.Config{
		PublicURL:      cfg.publicURL,
		MaxUploadBytes: cfg.maxUploadBytes,
		OnDuplicate:    cfg.onDuplicate,

		CaseSensitiveSearch: cfg.caseSensitive,
	}, store, blobs, log, reg)
	if err != nil {
		return err
	}
	us, err := users.New(usersConfig(cfg), store, log, reg)
	if err != nil {
		return err
	}
	// Closed last, after the server's requests are done, so that their audit records are written.
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		us.Close(closeCtx)
	}()
	if cfg.auth.local {
		if err := ensureAdmin(ctx, us, getenv, log); err != nil {
			return err
		}
	}
	handler, err := newRouter(cfg, log, reg, store, blobs, dw, us)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	handlers := &inFlight{}
	servers := []*http.Server{newServer(handlers.track(handler), log)}
	listeners := []net.Listener{ln}
	if cfg.metricsListen != "" {
		mln, err := net.Listen("tcp", cfg.metricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (--metrics-listen): %w", cfg.metricsListen, err)
		}
		servers = append(servers, newServer(handlers.track(metricsHandler(reg)), log))
		listeners = append(listeners, mln)
		log.Info("metrics served on their own listener", "addr", mln.Addr().String())
	}
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { serveErr <- srv.Serve(listeners[i]) }()
	}
	log.Info("medimg started", "addr", ln.Addr().String(), "database", store.Engine(), "blobs", cfg.blobs, "auth", cfg.auth.String())
	if cfg.auth.none() && !isLoopback(ln.Addr()) {
		log.Warn("--auth none: anyone who can reach " + ln.Addr().String() + " can read, store and delete every image; use it only on a trusted network")
	}
	fmt.Fprintf(stdout, "medimg listening on http://%s\n", ln.Addr())

	go background(ctx, log, dw, store)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; waiting for in-flight requests", "timeout", cfg.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := shutdown(shutdownCtx, log, servers, handlers); err != nil {
		return err
	}
	log.Info("medimg stopped")
	return nil
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// background runs the periodic clean-ups, at start-up and then hourly, until ctx ends. Every
// replica runs them: each is safe to run anywhere at any time (see SweepOrphans and the README's
// "Replicas").
func background(ctx context.Context, log *slog.Logger, dw *dicomweb.Service, store *queries.Store) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		// Files left by a crash or a failed delete: only ones old enough not to belong to a store
		// in flight on any replica.
		if n, err := dw.SweepOrphans(ctx, time.Hour); err != nil && ctx.Err() == nil {
			log.Warn("orphan sweep failed", "err", err)
		} else if n > 0 {
			log.Info("orphan sweep", "deleted", n)
		}
		if n, err := store.DeleteExpiredTokens(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("removing expired tokens failed", "err", err)
		} else if n > 0 {
			log.Info("expired tokens removed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openBlobs opens the blob store named by --blobs. An S3 bucket is checked once, with a short
// deadline, so that a wrong name, endpoint or credentials stop the start-up with a clear error.
func openBlobs(ctx context.Context, spec string, log *slog.Logger) (storage.Store, error) {
	switch {
	case strings.HasPrefix(spec, "file:"):
		dir := strings.TrimPrefix(strings.TrimPrefix(spec, "file:"), "//")
		fs, err := storage.NewFS(dir)
		if err != nil {
			return nil, err
		}
		if n, err := fs.SweepUploads(time.Hour); err != nil {
			log.Warn("sweeping abandoned uploads failed", "err", err)
		} else if n > 0 {
			log.Info("abandoned uploads removed", "count", n)
		}
		return fs, nil
	case strings.HasPrefix(spec, "s3:"):
		s3cfg, err := storage.ParseS3URL(spec)
		if err != nil {
			return nil, fmt.Errorf("--blobs: %w", err)
		}
		s3, err := storage.NewS3(ctx, s3cfg)
		if err != nil {
			return nil, fmt.Errorf("--blobs %q: %w", spec, err)
		}
		checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s3.Check(checkCtx); err != nil {
			return nil, fmt.Errorf("--blobs %q: %w", spec, err)
		}
		return s3, nil
	default:
		return nil, fmt.Errorf("--blobs %q: want file:DIR or s3://BUCKET[/PREFIX]", spec)
	}
}

// newRouter builds the gin engine with its middleware, in order, and every route group.
func newRouter(cfg config, log *slog.Logger, reg *prometheus.Registry, store *queries.Store, blobs storage.Store, dw *dicomweb.Service, us *users.Service) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	// The client address (audit trail, sign-in throttling) comes from X-Forwarded-For only when
	// the connection is from a listed proxy; gin trusts every proxy unless told otherwise.
	if err := r.SetTrustedProxies(cfg.trustedProxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	access := users.AccessTable()
	// CORS answers preflights before authentication: a browser sends them without credentials.
	r.Use(requestID(), progressDeadlines(cfg.ioTimeout), accessLog(log), recovery(log), m.middleware(), cors(cfg.corsOrigins), us.Middleware(access))
	r.NoRoute(func(c *gin.Context) {
		httperr.Write(c, log, &httperr.Error{Status: http.StatusNotFound, Code: "not_found",
			Message: "no resource at " + c.Request.URL.Path})
	})
	r.NoMethod(func(c *gin.Context) {
		httperr.Write(c, log, &httperr.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	deps := map[string]checker{"database": checkFunc(store.Ping)}
	if c, ok := blobs.(checker); ok {
		deps["blob store"] = c
	}
	operations(r, log, deps, cfg.auth)
	if cfg.metricsListen == "" {
		r.GET("/metrics", gin.WrapH(metricsHandler(reg)))
	}
	vh, err := viewer.New("/viewer/")
	if err != nil {
		return nil, err
	}
	r.GET("/viewer/*path", gin.WrapH(vh))
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/viewer/") })
	r.GET("/openapi.json", apidoc.Serve)
	us.Routes(r)
	dw.Routes(r.Group("/dicomweb"))
	dw.URIRoutes(r.Group("/wado"))
	if err := access.CheckRoutes(routesOf(r)); err != nil {
		return nil, err
	}
	if err := checkTransactions(r); err != nil {
		return nil, err
	}
	return r, nil
}
