package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/go-cmp/cmp"

	"github.com/medimg/medimg/apidoc"
	"github.com/medimg/medimg/queries/querytest"
)

func loadAPIDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(apidoc.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z]+)`)

// The document describes exactly the routes of the router: none missing, none invented.
func TestOpenAPIDocumentNamesEveryRoute(t *testing.T) {
	doc := loadAPIDoc(t)
	var routed, documented []string
	for _, r := range routes(t) {
		routed = append(routed, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	if diff := cmp.Diff(routed, documented); diff != "" {
		t.Errorf("routes (-) and the OpenAPI document (+) differ:\n%s", diff)
	}
}

// apiChecker validates real responses against the document.
type apiChecker struct {
	t      *testing.T
	router routers.Router
	srv    *instance
}

// call makes a request as the admin and checks its response against the document; it returns the
// status and body.
func (a apiChecker) call(method, path, contentType, body string, wantStatus int) string {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := a.srv.request(a.t, method, path, contentType, r)
	resp, got := do(a.t, req)
	if resp.StatusCode != wantStatus {
		a.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, got, wantStatus)
	}
	route, params, err := a.router.FindRoute(req)
	if err != nil {
		a.t.Fatalf("%s %s: not in the document: %v", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader([]byte(got))),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		a.t.Errorf("%s %s = %d %s\ndoes not match the document: %v", method, path, resp.StatusCode, got, err)
	}
	return got
}

// Real answers of the users, token and audit API match the schemas of the document.
func TestOpenAPIDocumentMatchesResponses(t *testing.T) {
	doc := loadAPIDoc(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, nil, "--database", querytest.DSN(t, "sqlite"), "--blobs", "file:"+t.TempDir())
	a := apiChecker{t: t, router: router, srv: srv}
	const js = "application/json"

	created := a.call("POST", "/users", js, `{"username": "api-doc", "password": "api-doc password!", "email": "doc@example.org", "role": "editor"}`, 201)
	id := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(created)[1]
	a.call("POST", "/users", js, `{"username": "api-doc2", "password": "api-doc2 password!"}`, 201)
	a.call("GET", "/users/"+id, "", "", 200)
	a.call("GET", "/users", "", "", 200)
	a.call("GET", "/users/me", "", "", 200)
	a.call("PATCH", "/users/"+id, js, `{"email": "", "active": true}`, 200)
	a.call("POST", "/users", js, `{"username": "no spaces allowed", "password": "short"}`, 422)
	a.call("POST", "/users", js, `{"username": "api-doc", "password": "api-doc password!"}`, 409)
	a.call("GET", "/users/999999", "", "", 404)
	a.call("POST", "/auth/token", js, `{"username": "api-doc", "password": "api-doc password!"}`, 200)
	a.call("POST", "/auth/token", "application/x-www-form-urlencoded", `grant_type=password&username=api-doc&password=wrong`, 401)
	a.call("POST", "/users/"+id+"/tokens", js, `{"name": "scanner", "expires_in": 3600}`, 201)
	a.call("POST", "/users/"+id+"/tokens", js, `{"name": "forever"}`, 201)
	a.call("GET", "/users/"+id+"/tokens", "", "", 200)
	a.call("GET", "/audit?limit=50", "", "", 200)
	a.call("GET", "/audit?since=yesterday", "", "", 422)
	a.call("GET", "/healthz", "", "", 200)
	a.call("GET", "/openapi.json", "", "", 200)
	a.call("DELETE", "/users/"+id, "", "", 204)
	if t.Failed() {
		return
	}
	// And a response that does not match is caught, so that the checks above mean something.
	route, params, _ := router.FindRoute(srv.request(t, "GET", "/users/1", "", nil))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: srv.request(t, "GET", "/users/1", "", nil), PathParams: params, Route: route},
		Status:                 200,
		Header:                 http.Header{"Content-Type": {js}},
		Body:                   io.NopCloser(strings.NewReader(`{"id": 1, "username": "x"}`)),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err == nil {
		t.Errorf("a user without its fields passes the document's check")
	}
}
