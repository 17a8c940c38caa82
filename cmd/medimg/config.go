package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is the whole configuration: flags, each defaulting to an environment variable
// MEDIMG_<NAME> (upper case, '-' as '_'), defaulting in turn to the value below.
type config struct {
	listen          string
	database        string
	blobs           string
	publicURL       string
	auth            string
	corsOrigins     string
	maxUploadBytes  int64
	onDuplicate     string
	caseSensitive   bool
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("medimg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("MEDIMG_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, env(name, def), usage+" (env MEDIMG_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+")")
	}
	str(&c.listen, "listen", ":8080", "address to serve HTTP on")
	str(&c.database, "database", "sqlite:data/medimg.db", "metadata store: sqlite:PATH or postgres://user:pass@host:5432/db?sslmode=disable")
	str(&c.blobs, "blobs", "file:data/blobs", "blob store for the DICOM files: file:DIR")
	str(&c.publicURL, "public-url", "", "base URL of absolute links in responses, e.g. https://pacs.example.org (default: the request's scheme and Host)")
	str(&c.auth, "auth", "none", "authentication: none (user accounts and tokens arrive with the users issue)")
	str(&c.corsOrigins, "cors-origins", "", "comma-separated origins allowed to call from a browser, or * (default: same origin only)")
	maxUpload := env("max-upload-bytes", strconv.FormatInt(4<<30, 10))
	fs.Func("max-upload-bytes", "largest STOW request body in bytes, 0 for no limit (env MEDIMG_MAX_UPLOAD_BYTES) (default "+maxUpload+")", func(s string) error {
		maxUpload = s
		return nil
	})
	str(&c.onDuplicate, "on-duplicate", "reject", "a stored SOP Instance UID sent again: reject (reported as a failure) or overwrite (replaced atomically)")
	caseSensitive := env("qido-case-sensitive", "false")
	fs.Func("qido-case-sensitive", "QIDO-RS matches text (names, IDs, descriptions) exactly as stored instead of ignoring case (env MEDIMG_QIDO_CASE_SENSITIVE) (default "+caseSensitive+")", func(s string) error {
		caseSensitive = s
		return nil
	})
	str(&c.logFormat, "log-format", "text", "log format: text or json")
	str(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	shutdown := env("shutdown-timeout", "30s")
	fs.Func("shutdown-timeout", "how long in-flight requests may take to finish on SIGINT/SIGTERM (env MEDIMG_SHUTDOWN_TIMEOUT) (default "+shutdown+")", func(s string) error {
		shutdown = s
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q; see --help", fs.Args())
	}
	var err error
	if c.maxUploadBytes, err = strconv.ParseInt(maxUpload, 10, 64); err != nil || c.maxUploadBytes < 0 {
		return config{}, fmt.Errorf("--max-upload-bytes %q: want a number of bytes, 0 for no limit", maxUpload)
	}
	if c.caseSensitive, err = strconv.ParseBool(caseSensitive); err != nil {
		return config{}, fmt.Errorf("--qido-case-sensitive %q: want true or false", caseSensitive)
	}
	if c.shutdownTimeout, err = time.ParseDuration(shutdown); err != nil {
		return config{}, fmt.Errorf("--shutdown-timeout %q: %v", shutdown, err)
	}
	if c.auth != "none" {
		return config{}, errors.New("--auth: only \"none\" is available until user accounts are built")
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return config{}, fmt.Errorf("--public-url %q: want an absolute http(s) URL such as https://pacs.example.org", c.publicURL)
		}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return config{}, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	return c, nil
}
