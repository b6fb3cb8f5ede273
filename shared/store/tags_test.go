package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/buzon/buzon/shared/gosrc"
)

// TestItemFieldsNameTheirAttributes reads the package's source: every struct that is stored
// (one with a dynamodbav tag, or named …Item or …Attr) names the attribute of each of its
// fields in a dynamodbav tag, one field per declaration, so renaming a Go field never renames
// a stored attribute. ("-" keeps a field out of the item.)
func TestItemFieldsNameTheirAttributes(t *testing.T) {
	t.Parallel()
	fset, files := gosrc.Files(t, ".")
	checked := 0
	for _, f := range files {
		// Named struct types, and anonymous ones (decoded in place) by their position.
		names := map[*ast.StructType]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					names[st] = ts.Name.Name
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok {
				return true
			}
			typeName, named := names[st]
			stored := named && (strings.HasSuffix(typeName, "Item") || strings.HasSuffix(typeName, "Attr"))
			for _, fld := range st.Fields.List {
				if _, ok := dynamodbTag(fld); ok {
					stored = true
				}
			}
			if !stored {
				return true
			}
			if !named {
				typeName = fset.Position(st.Pos()).String()
			}
			checked++
			for _, fld := range st.Fields.List {
				tag, ok := dynamodbTag(fld)
				attr, _, _ := strings.Cut(tag, ",")
				switch {
				case len(fld.Names) != 1:
					t.Errorf("%s: fields %s share one declaration: give each its own dynamodbav name", typeName, fieldNames(fld))
				case !ok || attr == "":
					t.Errorf("%s.%s: no attribute name in a dynamodbav tag (the Go name would be stored)", typeName, fieldNames(fld))
				}
			}
			return true
		})
	}
	if checked < 20 {
		t.Fatalf("checked %d stored structs, want every item of the package (20 or more): is the source where the test runs?", checked)
	}
}

func dynamodbTag(f *ast.Field) (string, bool) {
	if f.Tag == nil {
		return "", false
	}
	raw, err := strconv.Unquote(f.Tag.Value)
	if err != nil {
		return "", false
	}
	return reflect.StructTag(raw).Lookup("dynamodbav")
}

func fieldNames(f *ast.Field) string {
	if len(f.Names) == 0 {
		return "(embedded)"
	}
	var s []string
	for _, n := range f.Names {
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}

// TestDomainTypesCarryNoStorageTags: the domain (package inbox) knows nothing of the table;
// only the store converts.
func TestDomainTypesCarryNoStorageTags(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "inbox", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no source of package inbox beside the store (%v)", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fld, ok := n.(*ast.Field); ok {
				if _, tagged := dynamodbTag(fld); tagged {
					t.Errorf("%s: %s has a dynamodbav tag: give the store an item type instead", fset.Position(fld.Pos()), fieldNames(fld))
				}
			}
			return true
		})
	}
}
