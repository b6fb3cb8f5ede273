package deploy_test

import (
	"context"
	"go/ast"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/config"
	"github.com/buzon/buzon/shared/deploy"
	"github.com/buzon/buzon/shared/gosrc"
)

// functionsDir is the repository's functions/, from this package's directory.
const functionsDir = "../../functions"

// configFields maps each field of config.Config to the variable it holds (its env tag).
func configFields(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, ok := f.Tag.Lookup("env")
		if !ok {
			t.Fatalf("config.Config.%s has no env tag", f.Name)
		}
		out[f.Name] = name
	}
	return out
}

// TestConfigReadsItsFields runs config.Load through a recording getenv: it reads exactly the
// variables that Config's env tags name, so a tag is the truth about which variable a field
// holds.
func TestConfigReadsItsFields(t *testing.T) {
	t.Parallel()
	read := map[string]bool{}
	if _, err := config.Load(func(name string) string { read[name] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, name := range configFields(t) {
		want = append(want, name)
	}
	for name := range read {
		got = append(got, name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("variables config.Load reads (-tags +read):\n%s", diff)
	}
}

// TestFunctionsReadTheirSettings holds the declaration to the code: the configuration fields a
// function's code uses are exactly the settings (and provider secrets) it declares. A setting
// used but not declared would be missing in AWS and locally; one declared but not used is a
// variable, and usually a grant, that nothing needs.
//
// The uses are found in the function's source: selectors on the variable that boot.Main's
// e.Config is assigned to, on e.Config itself, on parameters
// of type config.Config, and the fields the boot.Env methods it calls read (e.Store: the
// table's name).
func TestFunctionsReadTheirSettings(t *testing.T) {
	t.Parallel()
	fields := configFields(t)
	for _, f := range deploy.Buzon.Functions {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			used := map[string]bool{}
			for field := range configUses(t, filepath.Join(functionsDir, f.Name)) {
				name, ok := fields[field]
				if !ok {
					t.Errorf("uses config.Config.%s, which is not a field", field)
				}
				used[name] = true
			}
			var declared, got []string
			for _, s := range f.Env() {
				if s.Name != deploy.SecretsSetting { // boot reads it to fetch the secrets
					declared = append(declared, s.Name)
				}
			}
			declared = append(declared, f.Secrets...)
			for name := range used {
				got = append(got, name)
			}
			slices.Sort(declared)
			slices.Sort(got)
			if diff := cmp.Diff(declared, got); diff != "" {
				t.Errorf("settings (-declared +used by functions/%s):\n%s", f.Name, diff)
			}
		})
	}
}

// configUses returns the config.Config fields the non-test Go files of dir select.
func configUses(t *testing.T, dir string) map[string]bool {
	t.Helper()
	_, parsed := gosrc.Files(t, dir)
	isConfig := func(e ast.Expr) bool { return isSel(e, "config", "Config") }
	// The names the configuration goes by, and those of the *boot.Env a function's main is
	// given (boot.Main).
	names, envs := map[string]bool{}, map[string]bool{}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			if n, ok := n.(*ast.Field); ok {
				if star, ok := n.Type.(*ast.StarExpr); ok && isSel(star.X, "boot", "Env") {
					for _, id := range n.Names {
						envs[id.Name] = true
					}
				}
			}
			return true
		})
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Rhs) != 1 {
					return true
				}
				id, ok := n.Lhs[0].(*ast.Ident)
				if !ok {
					return true
				}
				if sel, ok := n.Rhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Config" {
					if x, ok := sel.X.(*ast.Ident); ok && envs[x.Name] {
						names[id.Name] = true // cfg := e.Config
					}
				}
			case *ast.Field:
				if isConfig(n.Type) {
					for _, id := range n.Names {
						names[id.Name] = true
					}
				}
			case *ast.ValueSpec:
				if n.Type != nil && isConfig(n.Type) {
					for _, id := range n.Names {
						names[id.Name] = true
					}
				}
			}
			return true
		})
	}
	if len(envs) == 0 {
		t.Fatalf("%s: no boot.Main (no *boot.Env parameter)", dir)
	}
	methods := envMethodUses(t)
	used := map[string]bool{}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] {
				used[sel.Sel.Name] = true // cfg.X
			}
			if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "Config" {
				if x, ok := inner.X.(*ast.Ident); ok && envs[x.Name] {
					used[sel.Sel.Name] = true // e.Config.X
				}
			}
			if x, ok := sel.X.(*ast.Ident); ok && envs[x.Name] {
				for field := range methods[sel.Sel.Name] {
					used[field] = true // e.Store(...): what the method reads
				}
			}
			return true
		})
	}
	return used
}

// isSel reports whether e is the selector pkg.name.
func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == name
}

// envMethodUses maps each method of boot.Env to the configuration fields it reads
// (e.Config.X in its body), so a function that calls e.Store reads TABLE_NAME.
func envMethodUses(t *testing.T) map[string]map[string]bool {
	t.Helper()
	_, files := gosrc.Files(t, "../boot")
	out := map[string]map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 || len(fn.Recv.List[0].Names) != 1 {
				continue
			}
			recv := fn.Recv.List[0].Names[0].Name
			uses := map[string]bool{}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "Config" {
						if x, ok := inner.X.(*ast.Ident); ok && x.Name == recv {
							uses[sel.Sel.Name] = true
						}
					}
				}
				return true
			})
			out[fn.Name.Name] = uses
		}
	}
	return out
}

// TestFunctionsAreTheFolders: every declared function has its code in functions/<name>, and
// every folder there is declared (the Makefile builds what is there, the stacks run what is
// declared).
func TestFunctionsAreTheFolders(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(functionsDir)
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	names := deploy.Buzon.Names()
	slices.Sort(names)
	if diff := cmp.Diff(names, folders); diff != "" {
		t.Errorf("functions (-declared +functions/*):\n%s", diff)
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(functionsDir, name, "main.go")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDeclaration checks what the stacks rely on: names unique, references resolve, every
// queue consumed once with a long enough visibility, routes well formed, secrets real.
func TestDeclaration(t *testing.T) {
	t.Parallel()
	d := deploy.Buzon
	queues := map[string]bool{}
	for _, q := range d.Queues {
		if queues[q.Name] || strings.HasSuffix(q.Name, "-dlq") {
			t.Errorf("queue name %q repeated or reserved", q.Name)
		}
		queues[q.Name], queues[q.DLQ()] = true, true
		if q.MaxReceives < 1 {
			t.Errorf("queue %s: MaxReceives = %d", q.Name, q.MaxReceives)
		}
		var consumers []string
		for _, f := range d.Functions {
			if f.Consumes == q.Name {
				consumers = append(consumers, f.Name)
				if q.Visibility < 6*f.Timeout {
					t.Errorf("queue %s: visibility %v < 6 × %s's timeout %v", q.Name, q.Visibility, f.Name, f.Timeout)
				}
			}
		}
		if len(consumers) != 1 {
			t.Errorf("queue %s consumed by %v, want one function", q.Name, consumers)
		}
	}
	seen := map[string]bool{}
	routes := map[string]string{}
	reserved := 0
	for _, f := range d.Functions {
		// Each function's routes have a throttle of their own, so that a flood on one
		// function's routes is refused before it takes another's share of the stage.
		if (len(f.Routes) > 0) != (f.Throttle != nil) {
			t.Errorf("function %s: %d routes, throttle %v: want a throttle exactly when it has routes", f.Name, len(f.Routes), f.Throttle)
		}
		if th := f.Throttle; th != nil && (th.Rate <= 0 || float64(th.Burst) < th.Rate) {
			t.Errorf("function %s: throttle %+v, want a positive rate and a burst of at least one second's", f.Name, *th)
		}
		if f.Reserved < 0 {
			t.Errorf("function %s: reserved concurrency %d", f.Name, f.Reserved)
		}
		reserved += f.Reserved
		if seen[f.Name] || f.Name == "" {
			t.Errorf("function name %q repeated or empty", f.Name)
		}
		seen[f.Name] = true
		if f.MemoryMB < 128 || f.MemoryMB > 10240 || f.Timeout <= 0 || f.Timeout > 15*time.Minute || f.Pool < 1 || f.Description == "" {
			t.Errorf("function %s: memory %d MB, timeout %v, pool %d, description %q", f.Name, f.MemoryMB, f.Timeout, f.Pool, f.Description)
		}
		if f.Consumes != "" && !queues[f.Consumes] {
			t.Errorf("function %s consumes %q, not a declared queue", f.Name, f.Consumes)
		}
		for _, q := range f.SendsTo {
			if !queues[q] {
				t.Errorf("function %s sends to %q, not a declared queue", f.Name, q)
			}
		}
		for _, r := range f.Routes {
			if other, ok := routes[r.Key()]; ok {
				t.Errorf("route %s of %s is also %s's", r.Key(), f.Name, other)
			}
			routes[r.Key()] = f.Name
			if !strings.HasPrefix(r.Path, "/") || strings.Contains(strings.TrimSuffix(r.Path, lastSegment(r.Path)), "{") ||
				(strings.Contains(lastSegment(r.Path), "{") && !strings.HasSuffix(r.Path, "+}")) {
				t.Errorf("route %s of %s: want /path or /path/{name+}", r.Key(), f.Name)
			}
		}
		if f.Schedule != nil && f.Schedule.Every < time.Minute {
			t.Errorf("function %s: schedule every %v, EventBridge's least rate is a minute", f.Name, f.Schedule.Every)
		}
		// LoadSecrets knows every declared secret and no declared setting.
		var c config.Config
		c.SecretsARN = "arn"
		fetch := func(context.Context, string) (string, error) { return "{}", nil }
		if err := c.LoadSecrets(context.Background(), fetch, f.Secrets...); err != nil {
			t.Errorf("function %s: %v", f.Name, err)
		}
		for _, s := range f.Settings {
			if c.LoadSecrets(context.Background(), fetch, s.Name) == nil {
				t.Errorf("function %s declares the provider secret %s as a setting, want it in Secrets", f.Name, s.Name)
			}
		}
	}
	if reserved > reservable {
		t.Errorf("reserved concurrency %d in all, more than an account's default limit leaves (%d)", reserved, reservable)
	}
}

// reservable is the reserved concurrency an account with Lambda's default limit of 1,000 can
// give: Lambda keeps at least 100 unreserved.
const reservable = 900

func lastSegment(path string) string { return path[strings.LastIndex(path, "/")+1:] }

func TestQueueSetting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"inbound": "INBOUND_QUEUE_URL", "inbound-dlq": "INBOUND_DLQ_URL", "media-download": "MEDIA_DOWNLOAD_QUEUE_URL",
	} {
		if got := deploy.QueueSetting(in); got != want {
			t.Errorf("QueueSetting(%q) = %q, want %q", in, got, want)
		}
	}
	if got := deploy.Title("media-download"); got != "MediaDownload" {
		t.Errorf("Title = %q", got)
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	f := deploy.Function{
		Table: deploy.Read, Bucket: deploy.Write, SendsTo: []string{"outbound", "inbound-dlq"}, Secrets: []string{"META_ACCESS_TOKEN"},
		Settings: []deploy.Setting{{Name: "PUBLIC_BASE_URL"}, {Name: "TABLE_NAME"}},
	}
	want := []deploy.Setting{
		{Name: "INBOUND_DLQ_URL", Required: true}, {Name: "MEDIA_BUCKET", Required: true}, {Name: "OUTBOUND_QUEUE_URL", Required: true},
		{Name: "PUBLIC_BASE_URL"}, {Name: "SECRETS_ARN"}, {Name: "TABLE_NAME", Required: true},
	}
	if diff := cmp.Diff(want, f.Env()); diff != "" {
		t.Errorf("Env (-want +got):\n%s", diff)
	}
}
