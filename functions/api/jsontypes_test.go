package main

import (
	"go/ast"
	"reflect"
	"strconv"
	"testing"

	"github.com/buzon/buzon/shared/gosrc"
)

// TestJSONTypesAreTheAPIs keeps the API's JSON in the API: every struct with a json tag in
// functions/api (request and response types, bodies decoded inline) tags every field, so
// renaming a Go field never renames a JSON one, and is made of the API's own types, so a
// change to a domain, store or queue type never changes the JSON (json.RawMessage aside).
func TestJSONTypesAreTheAPIs(t *testing.T) {
	t.Parallel()
	fset, files := gosrc.Files(t, ".")
	checked := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok || !hasJSONTag(st) {
				return true
			}
			checked++
			for _, fd := range st.Fields.List {
				if jsonTag(fd) == "" {
					t.Errorf("%s: a field of a JSON type without a json tag", fset.Position(fd.Pos()))
				}
				if pkg := foreignType(fd.Type); pkg != "" {
					t.Errorf("%s: a JSON field of type %s: give the API its own type", fset.Position(fd.Pos()), pkg)
				}
			}
			return true
		})
	}
	if checked < 20 {
		t.Errorf("checked %d JSON types; the finder is broken", checked)
	}
}

func jsonTag(fd *ast.Field) string {
	if fd.Tag == nil {
		return ""
	}
	tag, err := strconv.Unquote(fd.Tag.Value)
	if err != nil {
		return ""
	}
	return reflect.StructTag(tag).Get("json")
}

func hasJSONTag(st *ast.StructType) bool {
	for _, fd := range st.Fields.List {
		if jsonTag(fd) != "" {
			return true
		}
	}
	return false
}

// foreignType names the other package's type e is made of ("events.Media"), "" if none.
func foreignType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return foreignType(e.X)
	case *ast.ArrayType:
		return foreignType(e.Elt)
	case *ast.MapType:
		if k := foreignType(e.Key); k != "" {
			return k
		}
		return foreignType(e.Value)
	case *ast.IndexExpr: // page[T]
		if x := foreignType(e.X); x != "" {
			return x
		}
		return foreignType(e.Index)
	case *ast.SelectorExpr:
		name := e.X.(*ast.Ident).Name + "." + e.Sel.Name
		if name == "json.RawMessage" {
			return ""
		}
		return name
	}
	return ""
}
