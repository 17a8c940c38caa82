package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/medimg/medimg/queries/querytest"
)

// TestViewerIsServed opens / in Chromium: it redirects to the viewer, whose page loads its script
// without errors.
func TestViewerIsServed(t *testing.T) {
	b := newBrowser(t)
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	b.run(t, "open /", chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible("#app"))
	if url := evalJS[string](t, b, "location.pathname"); url != "/viewer/" {
		t.Errorf("/ led to %s, want /viewer/", url)
	}
	b.noProblems(t)
}

// TestViewerWithoutAuthentication: with --auth none the viewer asks nobody to sign in (it learns
// the mode from /healthz, without a request that would answer 401).
func TestViewerWithoutAuthentication(t *testing.T) {
	b := newBrowser(t)
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(), "--auth", "none")
	b.run(t, "open the viewer", chromedp.Navigate(srv.url+"/viewer/"))
	waitFor(t, b, "the study list, not the sign-in form", `!!document.querySelector('.page-studies') && !document.querySelector('#signin-username')`)
	b.noProblems(t)
}
