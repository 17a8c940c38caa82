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

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/migrations"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/storage"
)

// run is the whole program: configuration, wiring, serving, and shutdown when ctx ends. It prints
// "medimg listening on http://ADDR" to stdout once it accepts connections (tests read the port).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	store, err := queries.Open(ctx, cfg.database, migrations.For)
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := openBlobs(cfg.blobs, log)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dw, err := dicomweb.New(dicomweb.Config{
		PublicURL:      cfg.publicURL,
		MaxUploadBytes: cfg.maxUploadBytes,
		OnDuplicate:    cfg.onDuplicate,

		CaseSensitiveSearch: cfg.caseSensitive,
	}, store, blobs, log, reg)
	if err != nil {
		return err
	}
	handler, err := newRouter(cfg, log, reg, store, dw)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("medimg started", "addr", ln.Addr().String(), "database", store.Engine(), "blobs", cfg.blobs)
	fmt.Fprintf(stdout, "medimg listening on http://%s\n", ln.Addr())

	// Files left by a crash: only ones old enough not to belong to a store in flight elsewhere.
	go func() {
		if n, err := dw.SweepOrphans(ctx, time.Hour); err != nil {
			log.Warn("orphan sweep failed", "err", err)
		} else if n > 0 {
			log.Info("orphan sweep", "deleted", n)
		}
	}()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; waiting for in-flight requests", "timeout", cfg.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("medimg stopped")
	return nil
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

// openBlobs opens the blob store named by --blobs.
func openBlobs(spec string, log *slog.Logger) (storage.Store, error) {
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
		return nil, fmt.Errorf("--blobs %q: the S3 blob store is not built yet; use file:DIR", spec)
	default:
		return nil, fmt.Errorf("--blobs %q: want file:DIR", spec)
	}
}

// newRouter builds the gin engine with its middleware, in order, and every route group.
func newRouter(cfg config, log *slog.Logger, reg *prometheus.Registry, store *queries.Store, dw *dicomweb.Service) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	r.Use(requestID(), accessLog(log), recovery(log), m.middleware(), cors(cfg.corsOrigins))
	r.NoRoute(func(c *gin.Context) {
		dicomweb.WriteError(c, log, &dicomweb.Error{Status: http.StatusNotFound, Code: "not_found",
			Message: "no resource at " + c.Request.URL.Path})
	})
	r.NoMethod(func(c *gin.Context) {
		dicomweb.WriteError(c, log, &dicomweb.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	operations(r, reg, store)
	dw.Routes(r.Group("/dicomweb"))
	dw.URIRoutes(r.Group("/wado"))
	return r, nil
}
