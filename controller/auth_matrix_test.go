package controller_test

// The role matrix: every route of the API's table, called without a token, with a bad token
// and as each role, against a real controller. Non-public routes answer 401 without a valid
// session and 403 to roles the table leaves out; every refusal and every call of a route with
// a generic audit record is in the audit log; docs/SECURITY.md lists the same matrix; and no
// route is registered outside the table.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"dalaba/controller/api"
	"dalaba/controller/review"
)

// publicRoutes are the only routes without login; a new one must be added here on purpose.
var publicRoutes = []string{"POST /api/v1/login", "GET /api/v1/public/announcements", "GET /healthz"}

// matrixPath fills in a route's path parameters with things that exist where that matters
// (a terminal, a user) and things that do not where acting on them would change the state.
func matrixPath(pattern string) string {
	_, path, _ := strings.Cut(pattern, " ")
	id := "matrix-missing"
	switch {
	case strings.HasPrefix(path, "/api/v1/terminals/"):
		id = "t001"
	case strings.HasPrefix(path, "/api/v1/announcements/"):
		id = "999999"
	}
	return strings.NewReplacer("{id}", id, "{name}", "zhao").Replace(path)
}

// matrixBody is what each call sends: nothing for reads, an empty JSON object (refused as
// bad input, so nothing changes) for the rest, a real login for the login.
func matrixBody(pattern string) any {
	switch {
	case pattern == "POST /api/v1/login":
		return map[string]string{"name": "admin", "password": adminPassword}
	case strings.HasPrefix(pattern, "GET "):
		return nil
	}
	return map[string]any{}
}

type auditRow struct {
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Object string `json:"object"`
	After  struct {
		Status int    `json:"status"`
		Path   string `json:"path"`
	} `json:"after"`
}

func TestRoleMatrixCoversEveryRoute(t *testing.T) {
	c, _ := startReview(t, nil)
	team := staffTeam(t, c) // admin, li (editor), wang and zhao (reviewers)
	callers := []struct {
		name string
		role review.Role
	}{{"li", review.Editor}, {"wang", review.Reviewer}, {"admin", review.Admin}}

	routes := (&api.Server{}).Routes()
	refusals := map[string]int{} // route -> 401s and 403s answered
	status := map[string]int{}   // route -> the admin's (or the public caller's) status
	for _, rt := range routes {
		path, body := matrixPath(rt.Pattern), matrixBody(rt.Pattern)
		method, _, _ := strings.Cut(rt.Pattern, " ")
		isPublic := slices.Contains(publicRoutes, rt.Pattern)
		if rt.Public() != isPublic {
			t.Errorf("%s: public %v in the table, %v in publicRoutes: a route without login must be listed on purpose", rt.Pattern, rt.Public(), isPublic)
			continue
		}
		if method != "GET" && rt.Audit == "" {
			t.Errorf("%s: changes state but has no Audit", rt.Pattern)
		}
		// Without a token, and with one that is no session.
		for _, token := range []string{"", "not-a-session-token"} {
			code, raw := staffCall(t, c, token, method, path, body, nil)
			switch {
			case isPublic && (code == 401 || code == 403) && rt.Pattern != "POST /api/v1/login":
				t.Errorf("%s %s with token %q: %d %s, want it public", method, path, token, code, raw)
			case !isPublic && code != 401:
				t.Errorf("%s %s with token %q: %d %s, want 401", method, path, token, code, raw)
			case !isPublic && token == "" && !strings.Contains(string(raw), "请先登录"):
				t.Errorf("%s %s without a token: %s, want 请先登录", method, path, raw)
			case !isPublic:
				refusals[rt.Pattern]++
			}
			if isPublic && token == "" {
				status[rt.Pattern] = code
			}
		}
		if isPublic {
			continue
		}
		for _, who := range callers {
			token := team[who.name]
			if rt.Pattern == "POST /api/v1/logout" {
				password := who.name + "-password"
				if who.name == "admin" {
					password = adminPassword
				}
				token = staffLogin(t, c, who.name, password) // a session of its own to end
			}
			code, raw := staffCall(t, c, token, method, path, body, nil)
			allowed := slices.Contains(rt.Roles, who.role)
			switch {
			case allowed && (code == 401 || code == 403):
				t.Errorf("%s %s as %s (%s): %d %s, want it allowed", method, path, who.name, who.role, code, raw)
			case !allowed && (code != 403 || !strings.Contains(string(raw), "无权执行此操作")):
				t.Errorf("%s %s as %s (%s): %d %s, want 403 for the role", method, path, who.name, who.role, code, raw)
			case !allowed:
				refusals[rt.Pattern]++
			}
			if who.name == "admin" {
				status[rt.Pattern] = code
			}
		}
	}

	// Every refusal is in the audit log under its route, and so is every call of a route with
	// a generic record, with the status it got.
	var audit []auditRow
	staffMust(t, 200, c, team["admin"], "GET", "/api/v1/audit?limit=1000", nil, &audit)
	denied := map[string]int{}
	recorded := map[string][]auditRow{}
	for _, e := range audit {
		if e.Action == "denied" {
			denied[strings.TrimPrefix(e.Object, "route:")]++
		}
		recorded[e.Action] = append(recorded[e.Action], e)
	}
	for _, rt := range routes {
		if denied[rt.Pattern] != refusals[rt.Pattern] {
			t.Errorf("%s: %d refusals audited as denied, want %d", rt.Pattern, denied[rt.Pattern], refusals[rt.Pattern])
		}
		action, object, generic := strings.Cut(rt.Audit, " ")
		if !generic || rt.Audit == "by handler" {
			continue
		}
		want := strings.ReplaceAll(strings.ReplaceAll(object, "{id}", "matrix-missing"), "{name}", "zhao")
		if strings.HasPrefix(rt.Pattern, "POST /api/v1/terminals/") {
			want = strings.ReplaceAll(object, "{id}", "t001")
		}
		if strings.HasPrefix(rt.Pattern, "POST /api/v1/announcements/") {
			want = strings.ReplaceAll(object, "{id}", "999999")
		}
		found := false
		for _, e := range recorded[action] {
			if e.Actor == "admin" && e.After.Status == status[rt.Pattern] && e.After.Path == matrixPath(rt.Pattern) &&
				(e.Object == want || strings.Contains(object, "{created}")) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no audit entry %s %s by admin with status %d; have %+v", rt.Pattern, action, want, status[rt.Pattern], recorded[action])
		}
	}

	// /metrics stays open (docs/SECURITY.md says why); /healthz too.
	for _, p := range []string{"/metrics", "/healthz"} {
		resp, err := http.Get("http://" + c.HTTPAddr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s without login: %d, want 200", p, resp.StatusCode)
		}
	}

	checkSecurityDoc(t, routes)
	checkNoRouteOutsideTable(t)
}

// checkSecurityDoc compares the matrix in docs/SECURITY.md with the table in the code.
func checkSecurityDoc(t *testing.T, routes []api.Route) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+ [^`]+)` \\| ([^|]+) \\| ([^|]+) \\| ([^|]+) \\|")
	doc := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		doc[m[1]] = []string{strings.TrimSpace(m[2]), strings.TrimSpace(m[3]), strings.TrimSpace(m[4])}
	}
	for _, rt := range routes {
		cells, ok := doc[rt.Pattern]
		if !ok {
			t.Errorf("docs/SECURITY.md has no row for %s", rt.Pattern)
			continue
		}
		delete(doc, rt.Pattern)
		for i, role := range []review.Role{review.Editor, review.Reviewer, review.Admin} {
			want := "—"
			switch {
			case rt.Public():
				want = "public"
			case slices.Contains(rt.Roles, role):
				want = "✓"
			}
			if cells[i] != want {
				t.Errorf("docs/SECURITY.md: %s for %s says %q, the code %q", rt.Pattern, role, cells[i], want)
			}
		}
	}
	for p := range doc {
		t.Errorf("docs/SECURITY.md lists %s, which the API does not have", p)
	}
}

// checkNoRouteOutsideTable finds every Handle and HandleFunc call in the api package: the one
// in Handler, which routes the table, must be the only one.
func checkNoRouteOutsideTable(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("api", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Handle" || sel.Sel.Name == "HandleFunc") {
					calls = append(calls, fset.Position(call.Pos()).String())
				}
			}
			return true
		})
	}
	if len(calls) != 1 || !strings.HasPrefix(calls[0], filepath.Join("api", "api.go")) {
		t.Errorf("routes registered at %v; want only Handler's loop over Routes in api/api.go", calls)
	}
}
