package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/medimg/medimg/queries/querytest"
)

// user runs "medimg user ARGS" with stdin and returns its output.
func user(t *testing.T, dsn, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(append([]string{"user"}, args...), "--database", dsn), func(string) string { return "" },
		strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestUserCommand(t *testing.T) {
	querytest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := start(t, nil, "--database", dsn, "--blobs", "file:"+t.TempDir())

		out, err := user(t, dsn, "a scanner passphrase\n", "add", "ct-2", "--role", "sender", "--email", "ct2@example.org")
		if err != nil || !strings.Contains(out, "created user ct-2") {
			t.Fatalf("user add: %v %s", err, out)
		}
		if tok := srv.signIn(t, "ct-2", "a scanner passphrase"); tok == "" {
			t.Errorf("the added user cannot sign in to the running server")
		}
		if out, err := user(t, dsn, "password\n", "add", "weak"); err == nil || !strings.Contains(out+err.Error(), "password") {
			t.Errorf("a common password was accepted: %v %s", err, out)
		}
		if _, err := user(t, dsn, "another passphrase\n", "add", "CT-2"); err == nil || !strings.Contains(err.Error(), "taken") {
			t.Errorf("a taken username: %v", err)
		}

		// Recovery: a forgotten admin password is replaced; the admin's sessions end.
		old := srv.token
		if out, err := user(t, dsn, "the recovered passphrase\n", "passwd", "admin"); err != nil || !strings.Contains(out, "password of admin changed") {
			t.Fatalf("user passwd: %v %s", err, out)
		}
		if code, _ := srv.get(t, "/users/me"); code != 401 {
			t.Errorf("the admin's session survived user passwd: %d", code)
		}
		srv.token = srv.signIn(t, "admin", "the recovered passphrase")
		if srv.token == old {
			t.Fatal("same token")
		}
		if _, err := user(t, dsn, "x\n", "passwd", "nobody"); err == nil {
			t.Errorf("passwd of an unknown user succeeded")
		}

		out, err = user(t, dsn, "", "list")
		if err != nil || !regexp.MustCompile(`(?m)^1\s+admin\s+admin\s+true`).MatchString(out) || !strings.Contains(out, "ct2@example.org") {
			t.Errorf("user list: %v\n%s", err, out)
		}
		if code, body := srv.get(t, "/audit?user=command-line"); code != 200 || !strings.Contains(body, `"user-created"`) || !strings.Contains(body, `"user-changed"`) {
			t.Errorf("the command's changes in the audit trail: %d %s", code, body)
		}
		for _, args := range [][]string{{}, {"remove", "x"}, {"add"}, {"list", "extra"}} {
			if _, err := user(t, dsn, "", args...); err == nil {
				t.Errorf("user %q succeeded", args)
			}
		}
	})
}

func TestFirstStart(t *testing.T) {
	t.Run("random_admin_password_is_logged_once", func(t *testing.T) {
		dsn := querytest.DSN(t, "sqlite")
		srv := start(t, map[string]string{"MEDIMG_ADMIN_PASSWORD": ""}, "--database", dsn, "--blobs", "file:"+t.TempDir(), "--log-format", "json")
		m := regexp.MustCompile(`"msg":"first start: created the admin account[^"]*","username":"admin","password":"([A-Za-z0-9_-]{24})"`).FindStringSubmatch(srv.stderr.String())
		if m == nil {
			t.Fatalf("no password in the log:\n%s", srv.stderr)
		}
		if srv.signIn(t, "admin", m[1]) == "" {
			t.Errorf("the logged password does not sign in")
		}
		srv.stop(t)
		again := start(t, map[string]string{"MEDIMG_ADMIN_PASSWORD": ""}, "--database", dsn, "--blobs", "file:"+t.TempDir())
		if strings.Contains(again.stderr.String(), "first start") {
			t.Errorf("a second start made another admin:\n%s", again.stderr)
		}
	})
	t.Run("a_weak_admin_password_stops_the_start", func(t *testing.T) {
		err := run(context.Background(), []string{"--database", querytest.DSN(t, "sqlite"), "--blobs", "file:" + t.TempDir(), "--listen", "127.0.0.1:0"},
			func(k string) string {
				if k == "MEDIMG_ADMIN_PASSWORD" {
					return "admin123"
				}
				return ""
			}, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "MEDIMG_ADMIN_PASSWORD") {
			t.Errorf("run with a weak admin password: %v", err)
		}
	})
	t.Run("auth_none_checks_nothing_and_warns_beyond_loopback", func(t *testing.T) {
		srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(), "--auth", "none")
		if code, _ := srv.get(t, "/dicomweb/studies"); code != 204 {
			t.Errorf("--auth none without credentials: %d", code)
		}
		if strings.Contains(srv.stderr.String(), "--auth none: anyone") {
			t.Errorf("warned on loopback")
		}
		wide := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(), "--auth", "none", "--listen", ":0")
		if !strings.Contains(wide.stderr.String(), "--auth none: anyone") {
			t.Errorf("no warning when listening on every address:\n%s", wide.stderr)
		}
	})
}

func TestMetricsListener(t *testing.T) {
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir(), "--metrics-listen", "127.0.0.1:0")
	m := regexp.MustCompile(`metrics served on their own listener" addr=(\S+)`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", srv.stderr)
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/metrics on its own listener without credentials: %d", resp.StatusCode)
	}
	if code, _ := srv.get(t, "/metrics"); code != 404 {
		t.Errorf("/metrics on the main listener with --metrics-listen: %d, want 404", code)
	}
}
