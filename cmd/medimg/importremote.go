package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// stowClient sends files to a DICOMweb server, several per STOW-RS request.
type stowClient struct {
	url         string // …/studies
	token, user string
	batch       int
	maxBytes    int64 // a request is sent once its files reach this size
	http        *http.Client
}

func newSTOWClient(base, token, user string, batch, jobs int) *stowClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = jobs
	return &stowClient{url: strings.TrimSuffix(base, "/") + "/studies", token: token, user: user,
		batch: batch, maxBytes: 64 << 20, http: &http.Client{Transport: t}}
}

// openedFile is a DICOM file of a batch, its header read.
type openedFile struct {
	src  source
	uid  string // MediaStorageSOPInstanceUID, "" when unknown
	body io.Reader
	rc   io.Closer
}

// refusedError is a server refusing the import's credential: every other request would be refused too.
type refusedError struct{ status, message string }

func (e *refusedError) Error() string {
	return fmt.Sprintf("the server refused the credential (%s: %s)", e.status, e.message)
}

// work sends the files of work in batches until it is closed, reporting each file to record, and
// calls stop when the server refuses the credential.
func (c *stowClient) work(ctx context.Context, work <-chan source, record func(source, importOutcome, string), stop func(error)) {
	for {
		var files []openedFile
		var size int64
		for s := range work {
			rc, err := s.open()
			if err != nil {
				record(s, importFailed, err.Error())
				continue
			}
			h, r, outcome, err := peekHeader(rc)
			if err != nil || outcome != importStored {
				rc.Close()
				record(s, outcome, fmt.Sprint(err))
				continue
			}
			f := openedFile{src: s, body: r, rc: rc}
			if h != nil {
				f.uid = h.MediaStorageSOPInstanceUID
			}
			files = append(files, f)
			if size += s.size; len(files) >= c.batch || size >= c.maxBytes {
				break
			}
		}
		if len(files) == 0 {
			return // work is closed
		}
		c.send(ctx, files, record, stop)
	}
}

// send stores files with one request, the body streamed from the files.
func (c *stowClient) send(ctx context.Context, files []openedFile, record func(source, importOutcome, string), stop func(error)) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		var err error
		for _, f := range files {
			var part io.Writer
			if part, err = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}}); err != nil {
				break
			}
			if _, err = io.Copy(part, f.body); err != nil {
				break
			}
		}
		if err == nil {
			err = mw.Close()
		}
		for _, f := range files {
			f.rc.Close()
		}
		pw.CloseWithError(err)
	}()
	failAll := func(reason string) {
		pr.CloseWithError(fmt.Errorf("request abandoned"))
		for _, f := range files {
			record(f.src, importFailed, reason)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, pr)
	if err != nil {
		failAll(err.Error())
		return
	}
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	req.Header.Set("Accept", "application/dicom+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else if user, password, ok := strings.Cut(c.user, ":"); ok {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		failAll(err.Error())
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	pr.CloseWithError(fmt.Errorf("request answered"))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		refused := &refusedError{resp.Status, strings.TrimSpace(string(clipBytes(body, 300)))}
		failAll(refused.Error())
		stop(refused)
		return
	}
	var answer stowAnswer
	if err != nil || json.Unmarshal(body, &answer) != nil || !strings.Contains(resp.Header.Get("Content-Type"), "json") ||
		(answer["00081199"].Value == nil && answer["00081198"].Value == nil) {
		failAll(fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(clipBytes(body, 300)))))
		return
	}
	failed := answer.sequence("00081198")
	warnings := partWarnings(resp.Header.Values("Warning"))
	// A part without a Warning was stored (the server names each failed part in one).
	for i, f := range files {
		warning := warnings[i+1]
		switch {
		case warning == "":
			record(f.src, importStored, "")
		case failed[f.uid] == strconv.Itoa(0x0111) || strings.HasSuffix(warning, "is already stored"):
			record(f.src, importAlready, "")
		default:
			record(f.src, importFailed, warning)
		}
	}
}

// stowAnswer is a Store Instances Response (PS3.18 Annex I) in DICOM JSON.
type stowAnswer map[string]struct {
	Value []json.RawMessage `json:"Value"`
}

// sequence maps the ReferencedSOPInstanceUID of each item of the sequence tag to its
// FailureReason ("-" for none).
func (a stowAnswer) sequence(tag string) map[string]string {
	out := map[string]string{}
	for _, raw := range a[tag].Value {
		var item stowAnswer
		if json.Unmarshal(raw, &item) != nil {
			continue
		}
		var uid string
		reason := "-"
		if v := item["00081155"].Value; len(v) > 0 {
			_ = json.Unmarshal(v[0], &uid) // not a string: no UID to report
		}
		if v := item["00081197"].Value; len(v) > 0 {
			reason = string(v[0])
		}
		if uid != "" {
			out[uid] = reason
		}
	}
	return out
}

// partWarnings maps part numbers to the messages of Warning headers `299 medimg "part N: …"`.
func partWarnings(values []string) map[int]string {
	out := map[int]string{}
	for _, v := range values {
		_, msg, ok := strings.Cut(v, `"`)
		if !ok {
			continue
		}
		msg = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(strings.TrimSuffix(msg, `"`))
		num, rest, ok := strings.Cut(strings.TrimPrefix(msg, "part "), ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			out[n] = rest
		}
	}
	return out
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
