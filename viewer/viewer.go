// Package viewer is the bundled web viewer: static files (plain ES modules, HTML and CSS, no build
// step) embedded in the binary and served at /viewer/. The viewer speaks only the public HTTP API,
// as any other client.
package viewer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// file is one static file, ready to serve.
type file struct {
	body, gzipped []byte
	contentType   string
	etag          string
}

// Handler serves the viewer's files under prefix (e.g. "/viewer/"): gzipped when the client takes
// it (compressed once, at start-up), with an ETag so that a reload costs a 304, and with a
// Content-Security-Policy that lets the page talk to its own origin only.
type Handler struct {
	prefix string
	files  map[string]file
}

// New prepares the files.
func New(prefix string) (*Handler, error) {
	h := &Handler{prefix: prefix, files: map[string]file{}}
	root, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(body) // into memory: cannot fail
		_ = zw.Close()
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.files[name] = file{body: body, gzipped: gz.Bytes(), contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	return h, err
}

// contentSecurityPolicy: scripts, styles, images and requests from this origin only (images also
// from blob: and data: URLs the viewer makes itself).
const contentSecurityPolicy = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, h.prefix)
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	f, ok := h.files[name]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "no-cache") // revalidate: a new binary serves new files at once
	hd.Set("Vary", "Accept-Encoding")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if strings.HasSuffix(name, ".html") {
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) && len(f.gzipped) < len(f.body) {
		hd.Set("Content-Encoding", "gzip")
		body = f.gzipped
	}
	_, _ = w.Write(body) // a failed write means the client went away: nothing left to do
}

// acceptsGzip reads Accept-Encoding loosely: gzip listed without q=0.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") || strings.Contains(params, "q=0.")
		}
	}
	return false
}
