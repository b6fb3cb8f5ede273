package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/buzon/buzon/shared/deploy"
)

// TestFunctionEnv holds what the local runner gives each function to its declaration: every
// variable of Buzón's configuration it passes is one the function declares (a provider secret
// locally, SECRETS_ARN in AWS), and every required one is there. So `make dev` fails where AWS
// would, not later.
func TestFunctionEnv(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	res := stackResources{Queues: map[string]fifoQueue{}}
	for _, q := range deploy.Buzon.Queues {
		res.Queues[q.Name] = fifoQueue{URL: "http://sqs/" + q.Name, DLQURL: "http://sqs/" + q.DLQ()}
	}
	values := localValues(s, res)
	// Lambda's own variables and the SDK's endpoints and credentials, which are not settings.
	lambda := func(name string) bool {
		return strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "_") || slices.Contains([]string{"PATH", "TZ", "LANG"}, name)
	}
	specs := functionSpecs(deploy.Buzon)
	if len(specs) != len(deploy.Buzon.Functions) {
		t.Fatalf("%d specs for %d declared functions", len(specs), len(deploy.Buzon.Functions))
	}
	for i, spec := range specs {
		decl := deploy.Buzon.Functions[i]
		t.Run(decl.Name, func(t *testing.T) {
			t.Parallel()
			declared := map[string]bool{}
			for _, n := range decl.Env() {
				declared[n.Name] = true
			}
			for _, n := range decl.Secrets {
				declared[n] = true
			}
			got := map[string]string{}
			for _, kv := range functionEnv(s, spec, values) {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := got[k]; dup {
					t.Errorf("%s set twice", k)
				}
				got[k] = v
				if !lambda(k) && !declared[k] {
					t.Errorf("%s passed but not declared", k)
				}
			}
			for _, n := range decl.Required() {
				if got[n] == "" {
					t.Errorf("required %s not passed", n)
				}
			}
			if _, ok := got[deploy.SecretsSetting]; ok {
				t.Errorf("SECRETS_ARN passed: locally the declared secrets are variables of their own")
			}
			if got["AWS_LAMBDA_LOG_LEVEL"] != "INFO" {
				t.Errorf("AWS_LAMBDA_LOG_LEVEL = %q, want INFO (LOG_LEVEL's default, as Lambda spells it)", got["AWS_LAMBDA_LOG_LEVEL"])
			}
		})
	}

	// Pinned examples of what used to reach every function.
	env := func(name string) map[string]bool {
		i := slices.IndexFunc(specs, func(s functionSpec) bool { return s.Name == name })
		out := map[string]bool{}
		for _, kv := range functionEnv(s, specs[i], values) {
			k, _, _ := strings.Cut(kv, "=")
			out[k] = true
		}
		return out
	}
	for _, tt := range []struct {
		function, name string
		want           bool
	}{
		{"window", "OUTBOUND_QUEUE_URL", false},
		{"window", "META_ACCESS_TOKEN", false},
		{"assign", "META_APP_SECRET", false},
		{"webhook", "TABLE_NAME", false},
		{"webhook", "META_APP_SECRET", true},
		{"send", "META_GRAPH_URL", true},
		{"send", "OUTBOUND_DLQ_URL", true},
	} {
		if got := env(tt.function)[tt.name]; got != tt.want {
			t.Errorf("%s has %s = %v, want %v", tt.function, tt.name, got, tt.want)
		}
	}
}
