package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/medimg/medimg/dicomweb/ingest/dicomgen"
	"github.com/medimg/medimg/internal/testfiles"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/users"
)

// appServer starts a server on a fresh SQLite database and blob directory, and a browser.
func appServer(t *testing.T) (*instance, *browser) {
	t.Helper()
	b := newBrowser(t)
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	return srv, b
}

// store stores files by STOW-RS as the admin, in one request.
func (in *instance) store(t *testing.T, files ...[]byte) {
	t.Helper()
	ct, body := stowBody(t, files...)
	resp, text := do(t, in.request(t, http.MethodPost, "/dicomweb/studies", ct, strings.NewReader(string(body))))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("store: %d %s", resp.StatusCode, text)
	}
}

// patient is a one-instance synthetic study of a patient.
func patient(t *testing.T, name, id, date string) []byte {
	return generated(t, dicomgen.Spec{PatientName: name, PatientID: id, StudyDate: date, StudyDescription: "Brain " + id, Modality: "MR"})
}

// signInUI opens the viewer at hash (it asks for sign-in) and signs in through the form.
func signInUI(t *testing.T, b *browser, srv *instance, hash, username, password string) {
	t.Helper()
	b.run(t, "open the viewer", chromedp.Navigate(srv.url+"/viewer/"+hash), chromedp.WaitVisible("#signin-username"))
	b.run(t, "sign in",
		chromedp.SendKeys("#signin-username", username),
		chromedp.SendKeys("#signin-password", password+"\n"),
		chromedp.WaitNotPresent("#signin-username"))
	b.forgive(http.StatusUnauthorized)
}

// waitFor polls a JavaScript condition until it holds (or fails the test after 10 s).
func waitFor(t *testing.T, b *browser, what, cond string) {
	t.Helper()
	b.run(t, what, chromedp.Steps(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(time.Until(deadline)))(ctx, tg)
			// A poll that starts while a navigation replaces the page's JavaScript context can be
			// given the old context's id (seen about once in 20 runs after openStudy): poll again.
			if err == nil || !strings.Contains(err.Error(), "Cannot find context with specified id") || time.Now().After(deadline) {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
	})))
}

// forgive drops the console lines of responses with these statuses, which Chromium logs for every
// 4xx: a signed-out start (GET /users/me says who is signed in) or a revoked token answers 401, and
// a form the server refuses 422, by design. Any other problem still fails the test.
func (b *browser) forgive(statuses ...int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !slices.ContainsFunc(statuses, func(s int) bool { return strings.Contains(p, fmt.Sprintf("status of %d ", s)) }) {
			kept = append(kept, p)
		}
	}
	b.problems = kept
}

const rowCount = `document.querySelectorAll('table.studies tbody tr').length`

// TestBrowserSignInSearchAndBack signs in through the form, searches by patient name, finds the
// query in the URL, and goes Back to the previous list.
func TestBrowserSignInSearchAndBack(t *testing.T) {
	srv, b := appServer(t)
	srv.store(t, patient(t, "Doe^John", "P1", "20240102"), patient(t, "Roe^Jane", "P2", "20240103"))
	signInUI(t, b, srv, "", "admin", testAdminPassword)
	waitFor(t, b, "the list shows both studies", rowCount+` === 2`)
	if got := evalJS[string](t, b, `document.querySelector('table.studies tbody tr td').textContent`); got != "Roe, Jane" {
		t.Errorf("first row is %q, want the newest study, Roe, Jane", got)
	}
	b.run(t, "search by name", chromedp.SendKeys("#q-PatientName", "doe\n"))
	waitFor(t, b, "the list shows Doe", rowCount+` === 1 && document.querySelector('table.studies tbody td').textContent === 'Doe, John'`)
	if hash := evalJS[string](t, b, "location.hash"); hash != "#/studies?PatientName=doe" {
		t.Errorf("hash %q, want the query", hash)
	}
	b.run(t, "go back", chromedp.NavigateBack())
	waitFor(t, b, "the list shows both studies again", rowCount+` === 2`)
	b.run(t, "select the second row with the keyboard", chromedp.KeyEvent("/"), chromedp.Blur("#q-PatientName"), chromedp.KeyEvent(kb.ArrowDown+kb.ArrowDown))
	if uid := evalJS[string](t, b, `document.querySelector('tr[aria-selected="true"]').dataset.uid`); uid == "" {
		t.Error("no row selected")
	}
	b.noProblems(t)
}

// TestBrowserUnauthorizedLeadsBack revokes the tab's token behind its back: the next navigation
// leads to sign-in, and signing in leads back to where the person was going.
func TestBrowserUnauthorizedLeadsBack(t *testing.T) {
	srv, b := appServer(t)
	srv.store(t, patient(t, "Doe^John", "P1", "20240102"), patient(t, "Roe^Jane", "P2", "20240103"))
	signInUI(t, b, srv, "#/studies?PatientID=P1", "admin", testAdminPassword)
	waitFor(t, b, "back on the search after signing in", `location.hash === '#/studies?PatientID=P1' && `+rowCount+` === 1`)
	tok := evalJS[string](t, b, "sessionStorage.getItem('medimg.token')")
	if resp, body := do(t, withAuth(srv.request(t, http.MethodPost, "/auth/logout", "", nil), "Bearer "+tok)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	evalJS[string](t, b, `location.hash = '#/studies?PatientID=P2'`)
	b.run(t, "the sign-in page shows", chromedp.WaitVisible("#signin-username"))
	if hash := evalJS[string](t, b, "location.hash"); hash != "#/signin?next=%23%2Fstudies%3FPatientID%3DP2" {
		t.Errorf("hash %q, want sign-in leading back", hash)
	}
	b.run(t, "sign in again",
		chromedp.SendKeys("#signin-username", "admin"),
		chromedp.SendKeys("#signin-password", testAdminPassword+"\n"))
	waitFor(t, b, "back on the route", `location.hash === '#/studies?PatientID=P2' && `+rowCount+` === 1`)
	b.forgive(http.StatusUnauthorized)
	b.noProblems(t)
}

// TestBrowserUpload picks real files, one already stored and one not DICOM, and finds each outcome.
func TestBrowserUpload(t *testing.T) {
	srv, b := appServer(t)
	srv.store(t, testfiles.Read(t, "2.dcm"))
	dir := t.TempDir()
	files := map[string][]byte{"1.dcm": testfiles.Read(t, "1.dcm"), "3.dcm": testfiles.Read(t, "3.dcm"), "2.dcm": testfiles.Read(t, "2.dcm"), "notes.txt": []byte(strings.Repeat("not an image\n", 20))}
	var paths []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	signInUI(t, b, srv, "#/upload", "admin", testAdminPassword)
	b.run(t, "pick the files", chromedp.SetUploadFiles("#upload-files", paths, chromedp.NodeReady))
	waitFor(t, b, "every file has its outcome", `document.querySelectorAll('.outcomes tbody tr').length === 4`)
	got := evalJS[map[string]string](t, b, `Object.fromEntries(Array.from(document.querySelectorAll('.outcomes tbody tr'), (tr) => [tr.cells[0].textContent, tr.dataset.outcome]))`)
	want := map[string]string{"1.dcm": "stored", "3.dcm": "stored", "2.dcm": "duplicate", "notes.txt": "skipped"}
	if !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if code, body := srv.get(t, "/dicomweb/studies"); code != http.StatusOK || strings.Count(body, `"0020000D"`) != 3 {
		t.Errorf("after the upload, the server lists (%d) %s", code, body)
	}
	b.noProblems(t)
}

// TestBrowserUsers creates a user on the users page, sees a refused password next to its field,
// and changes the new user's role.
func TestBrowserUsers(t *testing.T) {
	srv, b := appServer(t)
	signInUI(t, b, srv, "#/users", "admin", testAdminPassword)
	b.run(t, "a too short password",
		chromedp.WaitVisible("#new-username"),
		chromedp.SendKeys("#new-username", "dr.grey"),
		chromedp.SendKeys("#new-password", "short"),
		chromedp.Click("form.create-user button[type=submit]"))
	waitFor(t, b, "the password's message shows", `document.querySelector('.field-error[data-field="password"]').textContent !== ''`)
	b.run(t, "create the user",
		chromedp.SetValue("#new-password", "a long enough passphrase"),
		chromedp.Click("form.create-user button[type=submit]"),
		chromedp.WaitVisible(`tr[data-username="dr.grey"]`))
	evalJS[bool](t, b, `(() => { const s = document.querySelector('tr[data-username="dr.grey"] select'); s.value = 'editor'; return s.dispatchEvent(new Event('change')); })()`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := srv.get(t, "/users")
		if strings.Contains(body, `"username":"dr.grey"`) && strings.Contains(body, `"role":"editor"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the role did not change: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.forgive(http.StatusUnprocessableEntity)
	b.noProblems(t)
}

// TestBrowserReaderCannotDelete: a reader sees no delete buttons and no users page.
func TestBrowserReaderCannotDelete(t *testing.T) {
	srv, b := appServer(t)
	srv.store(t, patient(t, "Doe^John", "P1", "20240102"))
	srv.createUser(t, "Bearer "+srv.token, "dr.reader", users.RoleReader)
	signInUI(t, b, srv, "", "dr.reader", "dr.reader password!")
	waitFor(t, b, "the list shows the study", rowCount+` === 1`)
	if n := evalJS[int](t, b, `document.querySelectorAll('[data-action=delete]').length`); n != 0 {
		t.Errorf("a reader sees %d delete buttons", n)
	}
	if n := evalJS[int](t, b, `document.querySelectorAll('[data-action=zip]').length + document.querySelectorAll('.topbar a[href="#/users"]').length`); n != 1 {
		t.Errorf("want a ZIP button and no users link, got %d of them", n)
	}
	b.noProblems(t)
}

// TestBrowserZIPDownload downloads a study as ZIP and finds the stored files, byte for byte.
func TestBrowserZIPDownload(t *testing.T) {
	srv, b := appServer(t)
	stored := [][]byte{generated(t, dicomgen.Spec{StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.1", PatientName: "Zip^Zoe"}),
		generated(t, dicomgen.Spec{StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.1", InstanceNumber: 2, Seed: 2})}
	srv.store(t, stored...)
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	signInUI(t, b, srv, "", "admin", testAdminPassword)
	waitFor(t, b, "the list shows the study", rowCount+` === 1`)
	b.run(t, "download the ZIP", chromedp.Click(`tr[data-uid="1.2.3"] [data-action=zip]`))
	// Chromium names the file before it has written all of it: wait until it reads as a ZIP.
	file := filepath.Join(dir, "1.2.3.zip")
	deadline := time.Now().Add(10 * time.Second)
	zr, err := zip.OpenReader(file)
	for ; err != nil; zr, err = zip.OpenReader(file) {
		if time.Now().After(deadline) {
			t.Fatalf("no complete download: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer zr.Close()
	if len(zr.File) != len(stored) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(stored))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(stored, func(s []byte) bool { return bytes.Equal(s, got) }) || !strings.HasPrefix(f.Name, "1.2.3/1.2.3.1/") {
			t.Errorf("entry %s (%d bytes) is not a stored file", f.Name, len(got))
		}
	}
	b.noProblems(t)
}

// TestBrowserListOfFiftyStudies draws a full page of 50 studies (of 55) and logs the time from the
// route change to the rows in the DOM; Next leads to the other 5.
func TestBrowserListOfFiftyStudies(t *testing.T) {
	srv, b := appServer(t)
	for batch := range 5 {
		var files [][]byte
		for i := range 11 {
			n := batch*11 + i
			files = append(files, generated(t, dicomgen.Spec{PatientName: fmt.Sprintf("Patient^%02d", n), PatientID: fmt.Sprintf("ID%02d", n), StudyDate: fmt.Sprintf("202401%02d", 1+n%28), Seed: uint64(n)}))
		}
		srv.store(t, files...)
	}
	signInUI(t, b, srv, "", "admin", testAdminPassword)
	waitFor(t, b, "the list shows 50 studies", rowCount+` === 50`)
	ms := evalJS[float64](t, b, "window.__medimgPerf.listDrawnMs")
	t.Logf("list of 50 studies drawn %.1f ms after the route change", ms)
	if ms > 1000 {
		t.Errorf("the list took %.0f ms, want under 1000", ms)
	}
	b.run(t, "next page", chromedp.Click("[data-next]"))
	waitFor(t, b, "the next page shows 5 studies", rowCount+` === 5 && location.hash === '#/studies?offset=50'`)
	b.noProblems(t)
}
