package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the whole configuration: flags, each defaulting to an environment variable
// MEDIMG_<NAME> (upper case, '-' as '_'), defaulting in turn to the value below.
type config struct {
	listen          string
	metricsListen   string
	database        string
	blobs           string
	publicURL       string
	trustedProxies  []string
	auth            authModes
	tokenTTL        time.Duration
	oidcIssuer      string
	oidcAudience    string
	oidcRolesClaim  string
	corsOrigins     string
	maxUploadBytes  int64
	onDuplicate     string
	caseSensitive   bool
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
	ioTimeout       time.Duration
}

// authModes is --auth: local, oidc, both, or none.
type authModes struct{ local, oidc bool }

func (a authModes) none() bool { return !a.local && !a.oidc }

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "MEDIMG_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// configFlags defines the configuration's flags on fs. The returned function finishes the parse:
// it converts and checks the values once fs.Parse has run. Subcommands add their own flags to the
// same set, so that they share the server's configuration.
func configFlags(fs *flag.FlagSet, getenv func(string) string) (*config, func() error) {
	c := &config{}
	env := func(name, def string) string {
		if v := getenv(envName(name)); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, env(name, def), usage+" (env "+envName(name)+")")
	}
	// raw holds the flags that are converted after parsing, so that an environment value is
	// checked the same way as a flag.
	raw := map[string]*string{}
	val := func(name, def, usage string) {
		v := env(name, def)
		raw[name] = &v
		fs.Func(name, usage+" (env "+envName(name)+") (default "+strconv.Quote(v)+")", func(s string) error {
			v = s
			return nil
		})
	}
	str(&c.listen, "listen", ":8080", "address to serve HTTP on")
	str(&c.metricsListen, "metrics-listen", "", "serve /metrics on this address instead of the main listener (where it needs an admin), e.g. :9090")
	str(&c.database, "database", "sqlite:data/medimg.db", "metadata store: sqlite:PATH or postgres://user:pass@host:5432/db?sslmode=disable")
	str(&c.blobs, "blobs", "file:data/blobs", "blob store for the DICOM files: file:DIR, or s3://BUCKET[/PREFIX][?region=R&endpoint=URL&path-style=true] (credentials from the AWS environment, shared config or instance role)")
	str(&c.publicURL, "public-url", "", "base URL of absolute links in responses, e.g. https://pacs.example.org (default: the request's scheme and Host)")
	val("trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For gives the client address (audit, sign-in throttling)")
	val("auth", "local", "authentication: local (users, tokens and Basic in the metadata store), oidc (an identity provider's JWTs), local,oidc, or none (no checks: a trusted lab only)")
	val("token-ttl", "12h", "lifetime of a token from POST /auth/token")
	str(&c.oidcIssuer, "oidc-issuer", "", "with --auth oidc: the identity provider's issuer URL, e.g. https://keycloak.example.org/realms/hospital")
	str(&c.oidcAudience, "oidc-audience", "", "with --auth oidc: the audience (client id) tokens must be issued for")
	str(&c.oidcRolesClaim, "oidc-roles-claim", "roles", "with --auth oidc: dotted path of the claim listing the medimg roles, e.g. realm_access.roles or resource_access.medimg.roles")
	str(&c.corsOrigins, "cors-origins", "", "comma-separated origins allowed to call from a browser, or * (default: same origin only)")
	val("max-upload-bytes", strconv.FormatInt(4<<30, 10), "largest STOW request body in bytes, 0 for no limit")
	str(&c.onDuplicate, "on-duplicate", "reject", "a stored SOP Instance UID sent again: reject (reported as a failure) or overwrite (replaced atomically)")
	val("qido-case-sensitive", "false", "QIDO-RS matches text (names, IDs, descriptions) exactly as stored instead of ignoring case")
	str(&c.logFormat, "log-format", "text", "log format: text or json")
	str(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	val("shutdown-timeout", "30s", "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	val("io-timeout", "60s", "a request whose client sends or reads less than 64 KiB of body in this time is ended (slow or stuck clients); it never cuts a client that keeps moving data")

	finish := func() error {
		var err error
		if c.maxUploadBytes, err = strconv.ParseInt(*raw["max-upload-bytes"], 10, 64); err != nil || c.maxUploadBytes < 0 {
			return fmt.Errorf("--max-upload-bytes %q: want a number of bytes, 0 for no limit", *raw["max-upload-bytes"])
		}
		if c.caseSensitive, err = strconv.ParseBool(*raw["qido-case-sensitive"]); err != nil {
			return fmt.Errorf("--qido-case-sensitive %q: want true or false", *raw["qido-case-sensitive"])
		}
		if c.shutdownTimeout, err = time.ParseDuration(*raw["shutdown-timeout"]); err != nil {
			return fmt.Errorf("--shutdown-timeout %q: %v", *raw["shutdown-timeout"], err)
		}
		if c.ioTimeout, err = time.ParseDuration(*raw["io-timeout"]); err != nil || c.ioTimeout < time.Second/10 {
			return fmt.Errorf("--io-timeout %q: want a duration of at least 100ms, such as 60s", *raw["io-timeout"])
		}
		if c.tokenTTL, err = time.ParseDuration(*raw["token-ttl"]); err != nil || c.tokenTTL < time.Minute {
			return fmt.Errorf("--token-ttl %q: want a duration of at least 1m, such as 12h", *raw["token-ttl"])
		}
		if c.auth, err = parseAuth(*raw["auth"]); err != nil {
			return err
		}
		if c.auth.oidc && (c.oidcIssuer == "" || c.oidcAudience == "") {
			return errors.New("--auth oidc needs --oidc-issuer and --oidc-audience")
		}
		if c.trustedProxies, err = parseProxies(*raw["trusted-proxies"]); err != nil {
			return err
		}
		if c.publicURL != "" {
			u, err := url.Parse(c.publicURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
				return fmt.Errorf("--public-url %q: want an absolute http(s) URL such as https://pacs.example.org", c.publicURL)
			}
		}
		if c.logFormat != "text" && c.logFormat != "json" {
			return fmt.Errorf("--log-format %q: want text or json", c.logFormat)
		}
		return nil
	}
	return c, finish
}

// parseConfig parses the server's command line.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("medimg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: medimg [flags]\n       medimg user add|passwd|list [flags] (see medimg user --help)\n       medimg blobs copy --to STORE [flags] (see medimg blobs --help)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	c, finish := configFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q; see --help", fs.Args())
	}
	if err := finish(); err != nil {
		return config{}, err
	}
	return *c, nil
}

func parseAuth(s string) (authModes, error) {
	var a authModes
	for _, m := range strings.Split(s, ",") {
		switch strings.TrimSpace(m) {
		case "local":
			a.local = true
		case "oidc":
			a.oidc = true
		case "none":
			if s != "none" {
				return a, fmt.Errorf("--auth %q: none cannot be combined", s)
			}
		default:
			return a, fmt.Errorf("--auth %q: want local, oidc, local,oidc or none", s)
		}
	}
	return a, nil
}

// parseProxies checks --trusted-proxies: addresses or CIDR ranges.
func parseProxies(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR range", p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
