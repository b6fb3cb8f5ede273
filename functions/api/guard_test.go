package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/buzon/buzon/shared/gosrc"
)

// TestNoRoleRulesInHandlers keeps every role rule in shared/access: the API's handlers name
// a guard in the route table or call an access rule, and never look at a role themselves
// (no inbox.Role… constant, no comparison or switch on a Role field).
func TestNoRoleRulesInHandlers(t *testing.T) {
	t.Parallel()
	fset, files := gosrc.Files(t, ".")
	for _, f := range files {
		for _, pos := range roleRules(f) {
			t.Errorf("%s: a role rule in a handler; name it in shared/access and call it", fset.Position(pos))
		}
	}
}

// roleRules finds where f looks at a role: a Role… constant of inbox, or a comparison or
// switch on a field named Role.
func roleRules(f *ast.File) []token.Pos {
	isRole := func(e ast.Expr) bool {
		s, ok := e.(*ast.SelectorExpr)
		return ok && s.Sel.Name == "Role"
	}
	var found []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "inbox" && strings.HasPrefix(n.Sel.Name, "Role") && n.Sel.Name != "Role" {
				found = append(found, n.Pos())
			}
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isRole(n.X) || isRole(n.Y)) {
				found = append(found, n.Pos())
			}
		case *ast.SwitchStmt:
			if n.Tag != nil && isRole(n.Tag) {
				found = append(found, n.Pos())
			}
		}
		return true
	})
	return found
}

// TestRoleRulesFound: the finder above sees each way a handler could compare roles.
func TestRoleRulesFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      int
	}{
		{"constant", `package p; func f(u *U) bool { return u.Role == inbox.RoleAdmin }`, 2},
		{"string", `package p; func f(u *U) bool { return u.Role != "admin" }`, 1},
		{"switch", `package p; func f(u *U) { switch u.Role { } }`, 1},
		{"rendering", `package p; func f(u *U) J { return J{Role: string(u.Role)} }`, 0},
		{"access rule", `package p; func f(u *U) error { return access.ManageOrganization(u) }`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := parser.ParseFile(token.NewFileSet(), "x.go", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(roleRules(f)); got != tt.want {
				t.Errorf("found %d role rules, want %d", got, tt.want)
			}
		})
	}
}

// TestEveryRouteNamesItsGuard: a route without a guard would serve anyone.
func TestEveryRouteNamesItsGuard(t *testing.T) {
	t.Parallel()
	for _, rt := range (&api{}).routes().routes {
		if rt.guard == nil {
			t.Errorf("%s /%s has no guard", rt.method, strings.Join(rt.parts, "/"))
		}
	}
}
