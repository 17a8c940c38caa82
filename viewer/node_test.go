package viewer

import (
	"os"
	"os/exec"
	"testing"
)

// TestJavaScript runs the unit tests of the viewer's pure modules (windowing, DICOM JSON, slice
// sorting, multipart, query strings) with Node's built-in test runner. Without Node the test is
// skipped, naming the package, except under CI=true, where it fails.
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no node: .ci/run installs Debian's nodejs package")
		}
		t.Skip("JavaScript unit tests skipped: install Debian's nodejs package")
	}
	cmd := exec.Command(node, "--test", "jstest/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test jstest/: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
