package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/medimg/medimg/internal/testfiles"
)

var readmeScreenshots = flag.Bool("readme-screenshots", false, "write the README's screenshots to docs/screenshots")

// TestReadmeScreenshots makes the README's two screenshots (the study list and a CT in the
// viewport) from real test files: go test ./cmd/medimg -run TestReadmeScreenshots -readme-screenshots
func TestReadmeScreenshots(t *testing.T) {
	if !*readmeScreenshots {
		t.Skip("writes docs/screenshots; run with -readme-screenshots")
	}
	srv, b := appServer(t)
	for _, name := range []string{"1.dcm", "2.dcm", "3.dcm", "4.dcm", "5.dcm"} {
		srv.store(t, testfiles.Read(t, name))
	}
	srv.store(t, patient(t, "Doe^Jane", "P-1001", "20260312"), patient(t, "Roe^Richard", "P-1002", "20260211"),
		patient(t, "Müller^Jürgen", "P-1003", "20251105"))
	shot := func(name string) {
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("..", "..", "docs", "screenshots")
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openStudy(t, b, srv, srv.token, "1.3.6.1.4.1.5962.1.2.10.1166562673.14401") // 5.dcm, the multi-frame CT
	waitImage(t, b)
	key(t, b, "7") // the CT brain window
	shot("viewer-ct.png")
	b.run(t, "open the list", chromedp.Navigate(srv.url+"/viewer/#/studies"))
	waitFor(t, b, "the list is drawn", `document.querySelectorAll('tbody tr').length >= 8`)
	shot("study-list.png")
}
