package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/internal/httperr"
	"github.com/medimg/medimg/queries"
)

// Config is what the users service needs from the command line.
type Config struct {
	// Local turns on medimg's own users: tokens, HTTP Basic, the users API (--auth local).
	Local bool
	// OIDC, when set, accepts the JWTs of an identity provider (--auth oidc).
	OIDC *OIDCConfig
	// Neither Local nor OIDC means --auth none: no credentials are checked.

	// TokenTTL is the lifetime of a token from POST /auth/token (--token-ttl).
	TokenTTL time.Duration
	// Hash is the argon2id parameters for new password hashes (DefaultParams when zero).
	Hash Params
	// MaxConcurrentHashes bounds the argon2id hashes computed at once (the number of CPUs when 0).
	MaxConcurrentHashes int
	// StoredStudies tells the audit trail which studies a STOW request stored into.
	StoredStudies func(c *gin.Context) []string
}

// Service is the users API, sign-in, the authentication middleware and the audit trail.
type Service struct {
	cfg    Config
	store  *queries.Store
	hasher *Hasher
	auth   *authenticator
	audit  *auditLog
	log    *slog.Logger
	now    func() time.Time
}

// New returns the users service; its metrics are registered on reg. Close it after the HTTP server
// has stopped, so that the last audit records are written.
func New(cfg Config, store *queries.Store, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if cfg.Local && cfg.TokenTTL <= 0 {
		return nil, errors.New("users: the token lifetime must be positive")
	}
	if cfg.Hash == (Params{}) {
		cfg.Hash = DefaultParams
	}
	if err := cfg.Hash.check(); err != nil {
		return nil, fmt.Errorf("users: argon2id parameters: %w", err)
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = runtime.NumCPU()
	}
	if cfg.StoredStudies == nil {
		cfg.StoredStudies = func(*gin.Context) []string { return nil }
	}
	var oidc *OIDC
	if cfg.OIDC != nil {
		var err error
		if oidc, err = NewOIDC(*cfg.OIDC); err != nil {
			return nil, err
		}
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	hasher := NewHasher(cfg.Hash, cfg.MaxConcurrentHashes)
	return &Service{
		cfg: cfg, store: store, hasher: hasher, log: log, now: time.Now,
		auth:  newAuthenticator(store, hasher, oidc, cfg.Local, log, m),
		audit: newAuditLog(store, log, m),
	}, nil
}

// Close writes the buffered audit records.
func (s *Service) Close(ctx context.Context) { s.audit.close(ctx) }

// checksCredentials reports whether requests must carry credentials (--auth is not none).
func (s *Service) checksCredentials() bool { return s.cfg.Local || s.cfg.OIDC != nil }

// Routes registers the users, sign-in and audit API on r (mounted at the root).
func (s *Service) Routes(r gin.IRouter) {
	h := func(fn func(c *gin.Context) error) gin.HandlerFunc { return httperr.Handle(s.log, fn) }

	r.POST("/auth/token", h(s.createSessionToken))
	r.POST("/auth/logout", h(s.logout))

	r.GET("/users/me", h(s.getMe))
	r.POST("/users/me/password", h(s.changeOwnPassword))
	r.GET("/users", h(s.listUsers))
	r.POST("/users", h(s.createUser))
	r.GET("/users/:id", h(s.getUser))
	r.PATCH("/users/:id", h(s.updateUser))
	r.DELETE("/users/:id", h(s.deleteUser))

	r.GET("/users/:id/tokens", h(s.listDeviceTokens))
	r.POST("/users/:id/tokens", h(s.createDeviceToken))
	r.DELETE("/users/:id/tokens/:token", h(s.revokeDeviceToken))

	r.GET("/audit", h(s.searchAudit))
}

// EnsureAdmin creates the first admin account, named "admin", when there are no users at all
// (first start with --auth local). It returns whether it did; password is the one to give it.
func (s *Service) EnsureAdmin(ctx context.Context, password string) (created bool, err error) {
	if n, err := s.store.CountUsers(ctx); err != nil || n > 0 {
		return false, err
	}
	if msg := CheckPassword(password, "admin"); msg != "" {
		return false, fmt.Errorf("users: the first admin's password (MEDIMG_ADMIN_PASSWORD): %s", msg)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return false, err
	}
	return s.store.CreateFirstAdmin(ctx, queries.NewUser{Username: "admin", Role: string(RoleAdmin), PasswordHash: hash})
}

// RandomPassword returns a new random password for the first admin.
func RandomPassword() string { return randomPassword() }

// authMetrics are the metrics of sign-in and the audit trail.
type authMetrics struct {
	signIns *prometheus.CounterVec
	audit   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*authMetrics, error) {
	m := &authMetrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_signins_total",
			Help: "Password checks (token requests, Basic, password changes) by result: success, failure, throttled.",
		}, []string{"result"}),
		audit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medimg_audit_records_total",
			Help: "Audit records by result: written, dropped.",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.signIns, m.audit} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("users: register metrics: %w", err)
		}
	}
	// Every result has its series from the start, so that a rate is 0 rather than absent.
	for _, r := range []string{"success", "failure", "throttled"} {
		m.signIns.WithLabelValues(r)
	}
	m.audit.WithLabelValues("written")
	m.audit.WithLabelValues("dropped")
	return m, nil
}

// RecordCommand adds a change made with "medimg user …" on the server's host to the audit trail.
func (s *Service) RecordCommand(action, target string) {
	s.audit.record(queries.AuditRecord{Time: s.now(), Username: "command-line", Action: action,
		TargetUser: clip(target, maxAuditField), Outcome: 200, Client: "local"})
}
