package main

// The fault suite: the archive neither loses nor half-stores images when the process is killed
// (fault_crash_test.go), when the database goes away and comes back (fault_db_test.go), or when
// clients send garbage (fault_malformed_test.go). Short by default; -fault-long (or
// MEDIMG_FAULT_LONG=1) runs the long version. Blob store faults are in dicomweb/faults_test.go.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
)

var faultLong = flag.Bool("fault-long", os.Getenv("MEDIMG_FAULT_LONG") == "1", "run the long fault suite (also MEDIMG_FAULT_LONG=1)")

// faultClient is the HTTP client of the fault tests: nothing may hang.
var faultClient = &http.Client{Timeout: 15 * time.Second}

var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

// medimgBinary builds ./cmd/medimg once per test binary run and returns its path.
func medimgBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			binaryErr = fmt.Errorf("go env GOMOD: %q %v", gomod, err)
			return
		}
		if binaryDir, binaryErr = os.MkdirTemp("", "medimg-fault-"); binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "medimg")
		cmd := exec.Command("go", "build", "-o", binaryPath, "./cmd/medimg")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// sentInstance is one instance a fault test sent, with its bytes.
type sentInstance struct {
	study, series, sop string
	data               []byte
}

// newSent makes a small synthetic instance of study and series.
func newSent(t *testing.T, study, series string) sentInstance {
	sop := dicomgen.UID()
	data := generated(t, dicomgen.Spec{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop, Rows: 8, Columns: 8})
	return sentInstance{study, series, sop, data}
}

// stowResult is what a fault test reads of a Store response: its status and the acknowledged
// (ReferencedSOPSequence) and failed (FailedSOPSequence, with reasons) instances.
type stowResult struct {
	status       int
	acknowledged []string
	failed       map[string]int
	body         []byte
}

// faultStow posts insts in one request.
func faultStow(base string, insts []sentInstance) (stowResult, error) {
	files := make([][]byte, len(insts))
	for i, in := range insts {
		files[i] = in.data
	}
	ct, body := stowBodyOf(files...)
	req, _ := http.NewRequest(http.MethodPost, base+"/dicomweb/studies", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := faultClient.Do(req)
	if err != nil {
		return stowResult{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return stowResult{}, err
	}
	res := stowResult{status: resp.StatusCode, failed: map[string]int{}, body: raw}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/dicom+json") {
		return res, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return res, fmt.Errorf("store response: %v", err)
	}
	type item = map[string]struct {
		Value []json.RawMessage `json:"Value"`
	}
	ds := map[string]struct {
		Value []item `json:"Value"`
	}{}
	for _, tag := range []string{"00081199", "00081198"} {
		v := ds[tag]
		if top[tag] != nil {
			if err := json.Unmarshal(top[tag], &v); err != nil {
				return res, fmt.Errorf("store response %s: %v", tag, err)
			}
		}
		ds[tag] = v
	}
	str := func(it item, tag string) (s string) {
		if v := it[tag].Value; len(v) == 1 {
			json.Unmarshal(v[0], &s)
		}
		return s
	}
	for _, item := range ds["00081199"].Value {
		res.acknowledged = append(res.acknowledged, str(item, "00081155"))
	}
	for _, item := range ds["00081198"].Value {
		var reason int
		if v := item["00081197"].Value; len(v) == 1 {
			json.Unmarshal(v[0], &reason)
		}
		res.failed[str(item, "00081155")] = reason
	}
	return res, nil
}

// stowBodyOf is stowBody without a *testing.T, for client goroutines.
func stowBodyOf(files ...[]byte) (contentType string, body []byte) {
	var buf bytes.Buffer
	boundary := "fault-" + dicomgen.UID()[5:25]
	for _, f := range files {
		fmt.Fprintf(&buf, "--%s\r\nContent-Type: application/dicom\r\n\r\n", boundary)
		buf.Write(f)
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "--%s--\r\n", boundary)
	return `multipart/related; type="application/dicom"; boundary=` + boundary, buf.Bytes()
}

// retrieveInstance GETs one instance as stored.
func retrieveInstance(base string, in sentInstance) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/dicomweb/studies/"+in.study+"/series/"+in.series+"/instances/"+in.sop, nil)
	req.Header.Set("Accept", "application/dicom; transfer-syntax=*")
	resp, err := faultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// qidoAll walks a QIDO search page by page (limit 1000) and returns every result.
func qidoAll(t *testing.T, base, path string, params url.Values) []map[string]json.RawMessage {
	t.Helper()
	var all []map[string]json.RawMessage
	for offset := 0; ; offset += 1000 {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("limit", "1000")
		q.Set("offset", fmt.Sprint(offset))
		resp, err := faultClient.Get(base + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNoContent {
			return all
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("QIDO %s: %d %s", path, resp.StatusCode, body)
		}
		var page []map[string]json.RawMessage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("QIDO %s: %v", path, err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all
		}
	}
}

// attrString returns the first value of tag in a DICOM JSON object, as a string.
func attrString(obj map[string]json.RawMessage, tag string) string {
	var a struct {
		Value []json.RawMessage `json:"Value"`
	}
	if err := json.Unmarshal(obj[tag], &a); err != nil || len(a.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(a.Value[0], &s) == nil {
		return s
	}
	return strings.TrimSpace(string(a.Value[0]))
}
