package main

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/users"
)

func (a authModes) String() string {
	switch {
	case a.local && a.oidc:
		return "local,oidc"
	case a.local:
		return "local"
	case a.oidc:
		return "oidc"
	}
	return "none"
}

// usersConfig is the users service's part of the configuration.
func usersConfig(cfg config) users.Config {
	uc := users.Config{Local: cfg.auth.local, TokenTTL: cfg.tokenTTL, StoredStudies: dicomweb.StoredStudies}
	if cfg.auth.oidc {
		uc.OIDC = &users.OIDCConfig{Issuer: cfg.oidcIssuer, Audience: cfg.oidcAudience, RolesClaim: cfg.oidcRolesClaim}
	}
	return uc
}

// ensureAdmin creates the first admin on a first start with --auth local: with the password of
// MEDIMG_ADMIN_PASSWORD, or else a random one printed once in the log.
func ensureAdmin(ctx context.Context, us *users.Service, getenv func(string) string, log *slog.Logger) error {
	password, random := getenv("MEDIMG_ADMIN_PASSWORD"), false
	if password == "" {
		password, random = users.RandomPassword(), true
	}
	created, err := us.EnsureAdmin(ctx, password)
	switch {
	case err != nil:
		return err
	case created && random:
		log.Warn("first start: created the admin account with a random password, shown only this once; change it with POST /users/me/password",
			"username", "admin", "password", password)
	case created:
		log.Info("first start: created the admin account with the password of MEDIMG_ADMIN_PASSWORD", "username", "admin")
	}
	return nil
}

// routesOf lists the engine's routes for the access table's check.
func routesOf(r *gin.Engine) []users.Route {
	var out []users.Route
	for _, ri := range r.Routes() {
		out = append(out, users.Route{Method: ri.Method, Path: ri.Path})
	}
	return out
}
