package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/queries"
	"github.com/medimg/medimg/queries/querytest"
)

// badRequest is one generated malformed request. may2xx allows a 2xx because the input may in
// fact be valid (the generator says why); otherwise only a 4xx is right.
type badRequest struct {
	kind, method, path string
	header             http.Header
	body               []byte
	may2xx             bool
}

// TestFaultMalformedRequests sends generated malformed requests to a live server: every answer is
// a 4xx (a 2xx only where the generator marks the input as actually valid), never a 5xx, and the
// heap stays bounded.
func TestFaultMalformedRequests(t *testing.T) {
	n := 1200
	if *faultLong {
		n = 20000
	}
	const seed = 20240611
	t.Logf("seed %d, %d requests", seed, n)
	rng := rand.New(rand.NewPCG(seed, seed))
	in := start(t, nil, "--auth", "none", "--database", querytest.DSN(t, queries.SQLite), "--blobs", "file:"+t.TempDir(), "--log-level", "error")
	// One stored instance, so that paths and ranges can name something that exists.
	valid := newSent(t, dicomgen.UID(), dicomgen.UID())
	if res, err := faultStow(in.url, []sentInstance{valid}); err != nil || res.status != http.StatusOK {
		t.Fatalf("STOW: %v %d", err, res.status)
	}
	gen := &badGen{rng: rng, valid: valid}
	statuses := map[int]int{}
	byKind := map[string]map[int]int{}
	var peak uint64
	var ms runtime.MemStats
	for i := range n {
		r := gen.next()
		req, err := http.NewRequest(r.method, in.url+r.path, bytes.NewReader(r.body))
		if err != nil {
			// A URL Go's client itself refuses is not a request the server can see.
			statuses[-1]++
			continue
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		resp, err := faultClient.Do(req)
		if err != nil && strings.Contains(err.Error(), "invalid header field") {
			statuses[-1]++ // refused by Go's client: never reaches a server
			continue
		}
		if err != nil {
			t.Errorf("request %d (%s %s %q): %v", i, r.kind, r.method, r.path, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if byKind[r.kind] == nil {
			byKind[r.kind] = map[int]int{}
		}
		byKind[r.kind][resp.StatusCode]++
		switch {
		case resp.StatusCode >= 500:
			t.Errorf("5xx: request %d %s: %s %q Content-Type %q, %d-byte body %q → %d", i, r.kind, r.method, r.path,
				r.header.Get("Content-Type"), len(r.body), clip(r.body), resp.StatusCode)
		case resp.StatusCode < 400 && !r.may2xx:
			t.Errorf("request %d %s: %s %q %v → %d, want 4xx", i, r.kind, r.method, r.path, r.header, resp.StatusCode)
		}
		if i%50 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	t.Logf("statuses (-1: refused by the client) %v; heap in use peak %d MiB", statuses, peak>>20)
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("  %-10s %v", k, byKind[k])
	}
	if peak > 256<<20 {
		t.Errorf("heap in use peaked at %d MiB, want under 256 MiB", peak>>20)
	}
	// Still serving.
	if status, body, err := retrieveInstance(in.url, valid); status != http.StatusOK || err != nil || !bytes.Equal(body, valid.data) {
		t.Errorf("GET after the malformed requests: %d %v", status, err)
	}
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// badGen generates malformed requests from a seeded source.
type badGen struct {
	rng   *rand.Rand
	valid sentInstance
}

func (g *badGen) pick(s ...string) string { return s[g.rng.IntN(len(s))] }

func (g *badGen) junk(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return b
}

func (g *badGen) next() badRequest {
	switch g.rng.IntN(8) {
	case 0:
		return g.multipartFraming()
	case 1:
		return g.dicomContent()
	case 2:
		return g.uidPath()
	case 3:
		return g.headers()
	case 4:
		return g.query()
	case 5:
		return g.ranges()
	case 6:
		return g.pathEncoding()
	default:
		return g.stowContentType()
	}
}

const badBoundary = "xyzBOUNDARY"

func stowHeader(ct string) http.Header { return http.Header{"Content-Type": {ct}} }

func (g *badGen) multipartFraming() badRequest {
	d := g.valid.data
	var body []byte
	switch g.rng.IntN(8) {
	case 0: // boundary that never appears
		body = []byte("--other\r\nContent-Type: application/dicom\r\n\r\n" + string(d) + "\r\n--other--\r\n")
	case 1: // no CRLF after the boundary
		body = []byte("--" + badBoundary + "Content-Type: application/dicom" + string(d) + "--" + badBoundary + "--")
	case 2: // truncated inside the part
		full := "--" + badBoundary + "\r\nContent-Type: application/dicom\r\n\r\n" + string(d)
		body = []byte(full[:g.rng.IntN(len(full))])
	case 3: // nested junk part
		body = []byte("--" + badBoundary + "\r\nContent-Type: multipart/related; boundary=inner\r\n\r\n--inner\r\n\r\n" + string(g.junk(200)) + "\r\n--" + badBoundary + "--\r\n")
	case 4: // huge part header line
		body = []byte("--" + badBoundary + "\r\nX-Junk: " + strings.Repeat("a", 1<<20+g.rng.IntN(1<<20)) + "\r\n\r\n" + string(d) + "\r\n--" + badBoundary + "--\r\n")
	case 5: // no parts
		body = []byte("--" + badBoundary + "--\r\n")
	case 6: // random bytes
		body = g.junk(g.rng.IntN(4096))
	default: // thousands of empty parts
		body = []byte(strings.Repeat("--"+badBoundary+"\r\n\r\n\r\n", 2000+g.rng.IntN(2000)) + "--" + badBoundary + "--\r\n")
	}
	return badRequest{kind: "multipart", method: http.MethodPost, path: "/dicomweb/studies",
		header: stowHeader(`multipart/related; type="application/dicom"; boundary=` + badBoundary), body: body}
}

func (g *badGen) dicomContent() badRequest {
	d := bytes.Clone(g.valid.data)
	var part []byte
	switch g.rng.IntN(6) {
	case 0: // truncated file
		part = d[:g.rng.IntN(len(d))]
	case 1: // wrong preamble / magic
		copy(d[128:132], "DICN")
		part = d
	case 2: // bytes flipped in the header area (VRs, lengths)
		for range 1 + g.rng.IntN(8) {
			d[132+g.rng.IntN(min(400, len(d)-132))] = byte(g.rng.UintN(256))
		}
		part = d
	case 3: // a length of 0xFFFFFFF0 somewhere
		i := 132 + g.rng.IntN(min(400, len(d)-136))
		copy(d[i:], []byte{0xF0, 0xFF, 0xFF, 0xFF})
		part = d
	case 4: // random bytes
		part = g.junk(1 + g.rng.IntN(2048))
	default: // missing SOP Instance UID
		var buf bytes.Buffer
		dicomgen.Write(&buf, dicomgen.Spec{Omit: []dicomgen.Tag{dicomgen.TagSOPInstanceUID, dicomgen.TagMediaStorageSOPInstanceUID}, Rows: 4, Columns: 4})
		part = buf.Bytes()
	}
	ct, body := stowBodyOf(part)
	// A flipped byte may land in a value (a name, a pixel) and leave a valid file: then 200.
	return badRequest{kind: "dicom", method: http.MethodPost, path: "/dicomweb/studies", header: stowHeader(ct), body: body, may2xx: true}
}

func (g *badGen) badUID() string {
	return g.pick(
		strings.Repeat("1.", 40)+"1", // too long
		"1.2.abc", "1.02.3", "1..2", ".1.2", "1.2.", "..", "../../etc/passwd", "%2e%2e", "%2e%2e%2fetc",
		"1.2.3%00", "1.2.3;drop", "1 2", "１.２", strings.Repeat("9", 70), "1.2.3/../4",
	)
}

func (g *badGen) uidPath() badRequest {
	v := g.valid
	path := g.pick(
		"/dicomweb/studies/"+g.badUID(),
		"/dicomweb/studies/"+g.badUID()+"/metadata",
		"/dicomweb/studies/"+v.study+"/series/"+g.badUID(),
		"/dicomweb/studies/"+v.study+"/series/"+v.series+"/instances/"+g.badUID(),
		"/dicomweb/studies/"+v.study+"/series/"+v.series+"/instances/"+g.badUID()+"/frames/1",
		"/dicomweb/studies/"+g.badUID()+"/series",
		"/wado?requestType=WADO&studyUID="+g.badUID()+"&seriesUID="+v.series+"&objectUID="+v.sop,
	)
	method := g.pick(http.MethodGet, http.MethodGet, http.MethodDelete, http.MethodPost)
	r := badRequest{kind: "uid", method: method, path: path}
	if method == http.MethodPost {
		ct, body := stowBodyOf(v.data)
		r.header, r.body = stowHeader(ct), body
	}
	return r
}

func (g *badGen) headers() badRequest {
	v := g.valid
	inst := "/dicomweb/studies/" + v.study + "/series/" + v.series + "/instances/" + v.sop
	accept := g.pick("application/dicom; transfer-syntax=1.2.3.4.5", "text/html", "image/x-unknown",
		"multipart/related; type=\"text/plain\"", string(g.junk(30)), "application/dicom; q=abc; transfer-syntax=",
		"multipart/related; type=application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50", strings.Repeat("a/b,", 5000))
	return badRequest{kind: "accept", method: http.MethodGet, path: g.pick(inst, inst+"/frames/1", inst+"/metadata"),
		header: http.Header{"Accept": {accept}}}
}

func (g *badGen) query() badRequest {
	q := g.pick(
		"StudyDate=2024-13-45", "StudyDate=20241345", "StudyDate=2024010", "StudyDate=--", "StudyTime=256000",
		"limit=-1", "limit=abc", "offset=-5", "limit=99999999999999999999", "offset=1e9x",
		"includefield=nonsense", "includefield=GGGGEEEE", "includefield=99999999",
		"fuzzymatching=maybe", "00100010=", "0010001G=x", "PatientsName=x", "SOPInstanceUID="+strings.Repeat("1.2,", 5000)+"1",
		"StudyInstanceUID="+g.badUID(), "Modality="+strings.Repeat("CT\\", 3000),
		"limit=1&limit=2&limit=x", "orderby=evil", strings.Repeat("includefield=nonsense&", 2000)+"x=1",
	)
	// An unknown or repeated key a server may ignore, and an empty value, are acceptable: 200 allowed
	// only for those.
	// An unknown attribute in includefield is ignored (the server answers what it has).
	// An empty value is universal matching (PS3.4 C.2.2.2.3), and the server ignores a key it does
	// not know (0010001G, PatientsName, orderby): both answer 200.
	may := strings.HasPrefix(q, "00100010=") || strings.Contains(q, "includefield=") || strings.HasSuffix(q, "UID=") ||
		strings.HasPrefix(q, "0010001G") || strings.HasPrefix(q, "StudyInstanceUID=..") || strings.HasPrefix(q, "orderby") || strings.HasPrefix(q, "PatientsName") ||
		strings.HasPrefix(q, "Modality=") || strings.HasPrefix(q, "SOPInstanceUID=") || strings.HasPrefix(q, "limit=99999999999999999999")
	return badRequest{kind: "query", method: http.MethodGet, path: g.pick("/dicomweb/studies", "/dicomweb/series", "/dicomweb/instances") + "?" + q, may2xx: may}
}

func (g *badGen) ranges() badRequest {
	v := g.valid
	inst := "/dicomweb/studies/" + v.study + "/series/" + v.series + "/instances/" + v.sop
	r := g.pick("bytes=abc", "bytes=5-1", "bytes=-", "bytes=99999999-", "bytes=0-1,2-3,4-5", "items=0-1", "bytes=-0", "bytes=18446744073709551616-")
	// A Range the server may ignore (RFC 9110 allows ignoring Range) gets the whole body: 200.
	return badRequest{kind: "range", method: http.MethodGet, path: g.pick(inst, inst+"/frames/1", inst+"/bulkdata/7FE00010"),
		header: http.Header{"Range": {r}, "Accept": {g.pick("application/octet-stream", "*/*", "application/dicom; transfer-syntax=*")}}, may2xx: true}
}

func (g *badGen) pathEncoding() badRequest {
	p := g.pick(
		"/dicomweb/studies/%00", "/dicomweb/studies/%2500", "/dicomweb/%2e%2e/%2e%2e/etc/passwd", "/dicomweb/studies/%252e%252e",
		"/dicomweb/studies/%c0%ae%c0%ae/", "/dicomweb/studies/%ff%fe", "/dicomweb//studies//", "/dicomweb/studies/1.2.3/series/%2F",
		"/wado?requestType=WADO&studyUID=%00&seriesUID=%00&objectUID=%00", "/dicomweb/studies/"+strings.Repeat("%41", 3000),
		"/viewer/%2e%2e/%2e%2e/go.mod", "/viewer/..%2f..%2fgo.mod",
	)
	return badRequest{kind: "path", method: http.MethodGet, path: p}
}

func (g *badGen) stowContentType() badRequest {
	ct := g.pick("", "text/plain", "multipart/related", "multipart/related; boundary=", "multipart/related; type=\"application/dicom+json\"; boundary=x",
		"multipart/related; boundary=\""+strings.Repeat("b", 200)+"\"", string(g.junk(40)), "multipart/mixed; boundary=x", "application/dicom")
	_, body := stowBodyOf(g.valid.data)
	return badRequest{kind: "stow-ct", method: http.MethodPost, path: g.pick("/dicomweb/studies", "/dicomweb/studies/"+g.valid.study),
		header: stowHeader(ct), body: body}
}
