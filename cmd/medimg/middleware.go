package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/users"
)

// requestID tags every request with an ID (the client's X-Request-ID when it is sane) that the
// response and every log line carry.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-ID", id)
		// No response may be sniffed into another type (a DICOM file or an error body as HTML).
		c.Header("X-Content-Type-Options", "nosniff")
		c.Set("request_id", id)
		c.Next()
	}
}

// accessLog writes one structured line per request.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("request_id", c.GetString("request_id")),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.ClientIP()),
			slog.String("user", users.PrincipalOf(c).Username),
		)
	}
}

// recovery turns a panic into a logged 500 with the usual error body: a panic is a bug, but one
// request's bug must not take the server down.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				httperr.Write(c, log, fmt.Errorf("panic: %v", p))
			}
		}()
		c.Next()
	}
}

// httpMetrics are the request metrics of every route, labelled by the route template (never the
// raw path, whose UIDs would make a series per study).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	dicomweb *dicomwebMetrics
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "medimg_http_request_duration_seconds",
			Help:    "HTTP request duration by route template, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	var err error
	if m.dicomweb, err = newDICOMwebMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		code := strconv.Itoa(c.Writer.Status())
		seconds := time.Since(start).Seconds()
		m.requests.WithLabelValues(route, c.Request.Method, code).Inc()
		m.duration.WithLabelValues(route, c.Request.Method, code).Observe(seconds)
		m.dicomweb.observe(c, route, seconds)
	}
}

// cors lets browser viewers on the allowed origins call the API. Preflights are answered here,
// before any authentication, and the headers go on error responses too (browsers hide an error
// without them).
func cors(origins string) gin.HandlerFunc {
	allowed := map[string]bool{}
	any := false
	for _, o := range strings.Split(origins, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			any = true
		} else if o != "" {
			allowed[o] = true
		}
	}
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || (!any && !allowed[origin]) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Content-Type, Content-Length, Content-Range, Accept-Ranges, ETag, Warning, Location, X-Request-ID, X-Decode-Level")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS") // the methods routed
			h.Set("Access-Control-Allow-Headers", "Authorization, Accept, Content-Type, Range, X-Request-ID, X-Requested-With, If-None-Match")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// checker is a dependency /readyz asks: the database (Ping) and the blob store (Check).
type checker interface{ Check(context.Context) error }

// checkFunc adapts a function, such as the database's Ping, to checker.
type checkFunc func(context.Context) error

// Check calls f.
func (f checkFunc) Check(ctx context.Context) error { return f(ctx) }

// operations registers the endpoints for load balancers, Kubernetes and Prometheus. /readyz asks
// every named dependency at once, so that a replica that lost its database or its bucket is taken
// out of the balancer; the reason names the ones that failed (the cause goes to the log only).
func operations(r gin.IRouter, log *slog.Logger, deps map[string]checker, auth authModes) {
	// auth says which credentials the server takes (local, oidc, local,oidc or none), so that a
	// client such as the bundled viewer knows whether to show a sign-in form before it asks anything
	// that would answer 401.
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok", "auth": auth.String()}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		errs := make(map[string]error, len(deps))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, dep := range deps {
			wg.Go(func() {
				err := dep.Check(ctx)
				mu.Lock()
				errs[name] = err
				mu.Unlock()
			})
		}
		wg.Wait()
		var failed []string
		for name, err := range errs {
			if err != nil {
				log.WarnContext(ctx, "not ready", "dependency", name, "err", err)
				failed = append(failed, name)
			}
		}
		if len(failed) > 0 {
			slices.Sort(failed)
			verb := " does not answer"
			if len(failed) > 1 {
				verb = " do not answer"
			}
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "failed": failed,
				"reason": strings.Join(failed, " and ") + verb})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
}

// metricsHandler serves the registry for Prometheus.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
