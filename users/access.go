package users

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Access is who may call one route, and what the audit trail calls a call of it.
type Access struct {
	// Public routes need no credentials.
	Public bool
	// Roles may call the route; empty (and not Public) means any signed-in user.
	Roles []Role
	// Self also lets any signed-in user call the route for their own user id (the :id in the path).
	Self bool
	// Action names the call in the audit trail; "" for calls that are not audited.
	Action string
}

// Table maps "METHOD /route/template" (gin's full path) to who may call it. Every route of the
// server must be in it: the middleware refuses a route that is not, and CheckRoutes fails start-up.
type Table map[string]Access

var (
	readers = []Role{RoleReader, RoleEditor, RoleAdmin}
	storers = []Role{RoleSender, RoleEditor, RoleAdmin}
	editors = []Role{RoleEditor, RoleAdmin}
	admins  = []Role{RoleAdmin}
)

// AccessTable is the access matrix of the whole server: operations, sign-in, users and audit,
// DICOMweb mounted at /dicomweb and WADO-URI at /wado. /metrics needs an admin on the main
// listener; with --metrics-listen it is served on its own listener instead, outside this table.
// The README shows the same matrix.
func AccessTable() Table {
	t := Table{
		"GET /healthz":      {Public: true},
		"GET /readyz":       {Public: true},
		"GET /metrics":      {Roles: admins},
		"GET /":             {Public: true}, // redirects to the viewer
		"GET /viewer/*path": {Public: true}, // the viewer's static files: it signs in through the API
		"GET /openapi.json": {Public: true}, // the API's description

		"POST /auth/token":  {Public: true, Action: ActionSignIn},
		"POST /auth/logout": {Action: ActionSignOut},

		"GET /users/me":                   {},
		"POST /users/me/password":         {Action: ActionUserChanged},
		"GET /users":                      {Roles: admins},
		"POST /users":                     {Roles: admins, Action: ActionUserCreated},
		"GET /users/:id":                  {Roles: admins},
		"PATCH /users/:id":                {Roles: admins, Action: ActionUserChanged},
		"DELETE /users/:id":               {Roles: admins, Action: ActionUserDeleted},
		"GET /users/:id/tokens":           {Roles: admins, Self: true},
		"POST /users/:id/tokens":          {Roles: admins, Self: true, Action: ActionTokenCreated},
		"DELETE /users/:id/tokens/:token": {Roles: admins, Self: true, Action: ActionTokenRevoked},
		"GET /audit":                      {Roles: admins},

		"GET /wado": {Roles: readers, Action: ActionRetrieve},

		"GET /dicomweb": {Roles: readers}, // the capabilities: what the server supports, no patient data

		"POST /dicomweb/studies":                                             {Roles: storers, Action: ActionStore},
		"POST /dicomweb/studies/:study":                                      {Roles: storers, Action: ActionStore},
		"DELETE /dicomweb/studies/:study":                                    {Roles: editors, Action: ActionDelete},
		"DELETE /dicomweb/studies/:study/series/:series":                     {Roles: editors, Action: ActionDelete},
		"DELETE /dicomweb/studies/:study/series/:series/instances/:instance": {Roles: editors, Action: ActionDelete},
	}
	for _, p := range []string{"/studies", "/series", "/instances", "/studies/:study/series",
		"/studies/:study/instances", "/studies/:study/series/:series/instances"} {
		t["GET /dicomweb"+p] = Access{Roles: readers, Action: ActionSearch}
	}
	for _, level := range []string{"/studies/:study", "/studies/:study/series/:series", "/studies/:study/series/:series/instances/:instance"} {
		for _, resource := range []string{"", "/metadata", "/rendered", "/thumbnail"} {
			t["GET /dicomweb"+level+resource] = Access{Roles: readers, Action: ActionRetrieve}
		}
	}
	for _, p := range []string{"/frames/:frames", "/frames/:frames/rendered", "/frames/:frames/thumbnail", "/bulkdata/*path"} {
		t["GET /dicomweb/studies/:study/series/:series/instances/:instance"+p] = Access{Roles: readers, Action: ActionRetrieve}
	}
	return t
}

// Route is a method and a route template, as gin lists them.
type Route struct{ Method, Path string }

// CheckRoutes returns an error naming every route without an entry in t, so that a route added
// without deciding who may call it stops the server from starting.
func (t Table) CheckRoutes(routes []Route) error {
	var missing []string
	for _, r := range routes {
		if _, ok := t[r.Method+" "+r.Path]; !ok {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("users: routes without an entry in the access table: %s", strings.Join(missing, ", "))
	}
	return nil
}

// allows reports whether p may call a route with access x; self is the :id of the path ("" when none).
func (x Access) allows(p Principal, self string) bool {
	if x.Public || (len(x.Roles) == 0) {
		return true
	}
	if slices.Contains(x.Roles, p.Role) {
		return true
	}
	return x.Self && p.UserID != 0 && self == fmt.Sprint(p.UserID)
}
