package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medimg/medimg/dicomweb"
	"github.com/medimg/medimg/queries/querytest"
	"github.com/medimg/medimg/storage"
	"github.com/medimg/medimg/users"
)

var update = flag.Bool("update", false, "rewrite the access matrix in README.md")

// routes builds the server's router as run does and lists its routes.
func routes(t *testing.T, args ...string) []users.Route {
	t.Helper()
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store := querytest.Open(t, "sqlite")
	blobs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	dw, err := dicomweb.New(dicomweb.Config{}, store, blobs, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	us, err := users.New(usersConfig(cfg), store, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { us.Close(context.Background()) })
	r, err := newRouter(cfg, log, reg, store, blobs, dw, us)
	if err != nil {
		t.Fatal(err)
	}
	return routesOf(r)
}

func TestAccessTableCoversEveryRoute(t *testing.T) {
	table := users.AccessTable()
	routed := map[string]bool{}
	for _, r := range routes(t) {
		routed[r.Method+" "+r.Path] = true
	}
	for key := range table {
		if !routed[key] {
			t.Errorf("the access table lists %s, which is not routed", key)
		}
	}
	// The other direction is CheckRoutes at start-up: a route missing from the table stops the server.
	missing := append(routes(t), users.Route{Method: "GET", Path: "/dicomweb/new-thing"})
	if err := table.CheckRoutes(missing); err == nil || !strings.Contains(err.Error(), "GET /dicomweb/new-thing") {
		t.Errorf("CheckRoutes of a route without an entry: %v", err)
	}
	if got := routes(t, "--metrics-listen", "127.0.0.1:0"); slices.Contains(got, users.Route{Method: "GET", Path: "/metrics"}) {
		t.Errorf("/metrics is still on the main listener with --metrics-listen")
	}
}

// principal is one way of calling the server in the walk.
type principal struct {
	name   string
	header string
	role   users.Role // "" for credentials that must be refused
	userID int64
}

// TestAccessMatrix walks every route of the router with every kind of caller and checks that the
// access table decides: no credentials and bad ones get 401 (with the challenge), a role without the
// right gets 403, everyone else gets past authentication.
func TestAccessMatrix(t *testing.T) {
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	admin := "Bearer " + srv.token
	var principals []principal
	for _, role := range users.Roles {
		name := "walk-" + string(role)
		id := srv.createUser(t, admin, name, role)
		principals = append(principals,
			principal{string(role) + " bearer", "Bearer " + srv.signIn(t, name, name+" password!"), role, id},
			principal{string(role) + " Basic", basicHeader(name, name+" password!"), role, id})
	}
	victim := srv.createUser(t, admin, "walk-victim", users.RoleReader)

	expired := srv.createUser(t, admin, "walk-expired", users.RoleAdmin)
	expiring := srv.deviceToken(t, basicHeader("walk-expired", "walk-expired password!"), expired, 1)
	revoked := srv.signIn(t, "walk-reader", "walk-reader password!")
	if resp, body := do(t, withAuth(srv.request(t, "POST", "/auth/logout", "", nil), "Bearer "+revoked)); resp.StatusCode != 204 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	deactivated := srv.createUser(t, admin, "walk-gone", users.RoleAdmin)
	gone := srv.signIn(t, "walk-gone", "walk-gone password!")
	if resp, body := do(t, withAuth(srv.request(t, "PATCH", fmt.Sprint("/users/", deactivated), "application/json", strings.NewReader(`{"active": false}`)), admin)); resp.StatusCode != 200 {
		t.Fatalf("deactivate: %d %s", resp.StatusCode, body)
	}
	time.Sleep(1100 * time.Millisecond) // the device token expires
	principals = append(principals,
		principal{name: "no credentials"},
		principal{name: "expired token", header: "Bearer " + expiring},
		principal{name: "revoked token", header: "Bearer " + revoked},
		principal{name: "deactivated user", header: "Bearer " + gone},
		principal{name: "deactivated user Basic", header: basicHeader("walk-gone", "walk-gone password!")},
		principal{name: "wrong Basic password", header: basicHeader("walk-admin", "not the password")},
	)

	table := users.AccessTable()
	list := routes(t)
	// Logging out revokes the caller's token: last.
	sort.SliceStable(list, func(i, j int) bool { return list[j].Path == "/auth/logout" && list[i].Path != "/auth/logout" })
	for _, p := range principals {
		for _, r := range list {
			access := table[r.Method+" "+r.Path]
			ids := []int64{victim}
			if access.Self && p.userID != 0 {
				ids = append(ids, p.userID)
			}
			for _, id := range ids {
				path := fillRoute(r.Path, id)
				req := withAuth(srv.request(t, r.Method, path, "", nil), p.header)
				resp, body := do(t, req)
				want := "pass"
				switch {
				case access.Public:
				case p.role == "":
					want = "401"
				case len(access.Roles) > 0 && !slices.Contains(access.Roles, p.role) && !(access.Self && id == p.userID):
					want = "403"
				}
				got := "pass"
				switch resp.StatusCode {
				case 401, 403:
					got = fmt.Sprint(resp.StatusCode)
				case 429: // failed Basic sign-ins are throttled after a few: refused as well
					got = "401"
				}
				if got != want {
					t.Errorf("%s: %s %s = %d %s, want %s", p.name, r.Method, path, resp.StatusCode, body, want)
				}
				if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != users.Challenge {
					t.Errorf("%s: %s %s: 401 without the challenge", p.name, r.Method, path)
				}
				if resp.StatusCode >= 500 {
					t.Errorf("%s: %s %s = %d %s", p.name, r.Method, path, resp.StatusCode, body)
				}
			}
		}
	}
}

// fillRoute puts values into a route template's parameters.
func fillRoute(route string, id int64) string {
	values := map[string]string{":study": "1.2.3", ":series": "1.2.3.4", ":instance": "1.2.3.4.5", ":frames": "1",
		"*path": "7FE00010", ":id": fmt.Sprint(id), ":token": "999999"}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if v, ok := values[p]; ok {
			parts[i] = v
		}
	}
	return strings.Join(parts, "/")
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// withAuth replaces a request's Authorization header ("" removes it).
func withAuth(req *http.Request, header string) *http.Request {
	req.Header.Del("Authorization")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	return req
}

// createUser makes a user whose password is "NAME password!" and returns its id.
func (in *instance) createUser(t *testing.T, auth, name string, role users.Role) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"username": %q, "password": %q, "role": %q}`, name, name+" password!", role)
	resp, b := do(t, withAuth(in.request(t, "POST", "/users", "application/json", strings.NewReader(body)), auth))
	var id int64
	if m := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(b); resp.StatusCode != 201 || m == nil {
		t.Fatalf("create %s: %d %s", name, resp.StatusCode, b)
	} else {
		fmt.Sscan(m[1], &id)
	}
	return id
}

// deviceToken makes a device token of user id that expires after seconds.
func (in *instance) deviceToken(t *testing.T, auth string, id int64, seconds int) string {
	t.Helper()
	body := fmt.Sprintf(`{"name": "walk", "expires_in": %d}`, seconds)
	resp, b := do(t, withAuth(in.request(t, "POST", fmt.Sprint("/users/", id, "/tokens"), "application/json", strings.NewReader(body)), auth))
	m := regexp.MustCompile(`"token":"([^"]+)"`).FindStringSubmatch(b)
	if resp.StatusCode != 201 || m == nil {
		t.Fatalf("device token: %d %s", resp.StatusCode, b)
	}
	return m[1]
}

// TestReadmeAccessMatrix keeps the README's matrix equal to the access table
// (go test ./cmd/medimg -run TestReadmeAccessMatrix -update rewrites it).
func TestReadmeAccessMatrix(t *testing.T) {
	const begin, end = "<!-- access-matrix: generated from users.AccessTable by TestReadmeAccessMatrix -update -->\n", "<!-- /access-matrix -->"
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the access matrix between %q and %q", begin, end)
	}
	want := renderMatrix(users.AccessTable())
	if got := text[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile("../../README.md", []byte(text[:i+len(begin)]+want+text[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the README's access matrix differs from users.AccessTable; run go test ./cmd/medimg -run TestReadmeAccessMatrix -update\n%s", want)
	}
}

// renderMatrix writes the table as Markdown, one row per route, in a stable order.
func renderMatrix(table users.Table) string {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		mi, pi, _ := strings.Cut(keys[i], " ")
		mj, pj, _ := strings.Cut(keys[j], " ")
		if pi != pj {
			return pi < pj
		}
		return mi < mj
	})
	var b strings.Builder
	b.WriteString("| route | public | sender | reader | editor | admin | audited as |\n|---|:-:|:-:|:-:|:-:|:-:|---|\n")
	for _, k := range keys {
		a := table[k]
		cell := func(r users.Role) string {
			switch {
			case a.Public, len(a.Roles) == 0, slices.Contains(a.Roles, r):
				return "✓"
			case a.Self:
				return "own"
			}
			return ""
		}
		public := ""
		if a.Public {
			public = "✓"
		}
		action := a.Action
		if action != "" {
			action = "`" + action + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", k, public, cell(users.RoleSender), cell(users.RoleReader), cell(users.RoleEditor), cell(users.RoleAdmin), action)
	}
	return b.String()
}
