package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/routing"
)

// withRouting wires automatic assignment into the world, as the api and assign functions do.
func (w *world) withRouting() *world {
	r := routing.New(w.st, time.Now)
	r.CacheTTL = 0
	w.api.routing = r
	w.proc = ingest.New(w.st, time.Now, r.Opened)
	w.proc.OnAssignedMessage(r.CustomerWrote)
	return w
}

func TestAvailabilityAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t).withRouting()
	steps := []struct {
		user, method, path, body string
		status                   int
		want                     map[string]any // fields of the answer checked
	}{
		{"ana", "GET", "/v1/users/ana/availability", "", 200, map[string]any{"available": false, "max_open": 0.0, "open_count": 0.0}}, // newWorld's users are away
		{"ana", "GET", "/v1/users/bea/availability", "", 403, nil},
		{"ana", "PUT", "/v1/users/ana/availability", `{"available":true}`, 200, map[string]any{"available": true, "assigned": 0.0}},
		{"ana", "PUT", "/v1/users/ana/availability", `{"available":false}`, 200, map[string]any{"available": false, "assigned": 0.0}},
		{"ana", "PUT", "/v1/users/ana/availability", `{"max_open":3}`, 403, nil},
		{"ana", "PUT", "/v1/users/bea/availability", `{"available":false}`, 403, nil},
		{"admin", "PUT", "/v1/users/ana/availability", `{"available":true,"max_open":3}`, 200, map[string]any{"available": true, "max_open": 3.0}},
		{"ana", "PUT", "/v1/users/ana/availability", `{"available":true,"max_open":3}`, 200, map[string]any{"max_open": 3.0}}, // her capacity unchanged
		{"admin", "GET", "/v1/users/ana/availability", "", 200, map[string]any{"available": true, "max_open": 3.0}},
		{"admin", "PUT", "/v1/users/ed/availability", `{"available":true}`, 422, nil},
		{"admin", "PUT", "/v1/users/nobody/availability", `{"available":true}`, 404, nil},
		{"admin", "PUT", "/v1/users/ana/availability", `{}`, 422, nil},
		{"admin", "PUT", "/v1/users/ana/availability", `{"max_open":-1}`, 422, nil},
		{"admin", "PUT", "/v1/users/ana/availability", `{"available":"yes"}`, 400, nil},
	}
	for i, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("step %d: %s %s %s %s = %d %v, want %d", i, s.user, s.method, s.path, s.body, status, out, s.status)
		}
		for k, v := range s.want {
			if out[k] != v {
				t.Errorf("step %d: %s = %v, want %v (%v)", i, k, out[k], v, out)
			}
		}
	}
	u, err := w.st.User(context.Background(), w.org, "ana")
	if err != nil || !u.Available || u.MaxOpen != 3 {
		t.Errorf("stored user = %+v, %v; want available with max 3", u, err)
	}
}

func TestRulesAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t).withRouting()
	steps := []struct {
		user, method, path, body string
		status                   int
		want                     string // the answer's rules, as JSON-ish summary
	}{
		{"ana", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"least_loaded"}]}`, 403, ""},
		{"ana", "GET", "/v1/lines/l1/rules", "", 403, ""},
		{"admin", "GET", "/v1/lines/l1/rules", "", 200, "none keep"},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"fastest"}]}`, 422, ""},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"contact_field"}]}`, 422, ""},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"random","field":"x"}]}`, 422, ""},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"random"},{"type":"random"}]}`, 422, ""},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[],"when_assignee_away":"sometimes"}`, 422, ""},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"when_assignee_away":"keep"}`, 422, ""},
		{"admin", "PUT", "/v1/lines/nope/rules", `{"rules":[]}`, 404, ""},
		{"admin", "PUT", "/v1/departments/nope/rules", `{"rules":[]}`, 404, ""},
		{"admin", "PUT", "/v1/departments/sales/rules", `{"rules":[{"type":"round_robin"}]}`, 200, " keep round_robin"},
		{"admin", "GET", "/v1/lines/l1/rules", "", 200, "department keep round_robin"},
		{"admin", "PUT", "/v1/lines/l1/rules", `{"rules":[{"type":"contact_field","field":"vendedor"},{"type":"least_loaded"}],"when_assignee_away":"reroute"}`, 200,
			"line reroute contact_field:vendedor least_loaded"},
		{"admin", "GET", "/v1/lines/l1/rules", "", 200, "line reroute contact_field:vendedor least_loaded"},
		{"admin", "GET", "/v1/departments/sales/rules", "", 200, " keep round_robin"},
		{"admin", "DELETE", "/v1/lines/l1/rules", "", 204, ""},
		{"admin", "GET", "/v1/lines/l1/rules", "", 200, "department keep round_robin"},
		{"admin", "GET", "/v1/departments/support/rules", "", 200, " keep"},
	}
	for i, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("step %d: %s %s %s %s = %d %v, want %d", i, s.user, s.method, s.path, s.body, status, out, s.status)
		}
		if s.want == "" {
			continue
		}
		got, _ := out["source"].(string)
		got += " " + out["when_assignee_away"].(string)
		for _, r := range out["rules"].([]any) {
			r := r.(map[string]any)
			got += " " + r["type"].(string)
			if f, ok := r["field"].(string); ok {
				got += ":" + f
			}
		}
		if got != s.want {
			t.Errorf("step %d: %s %s = %q, want %q", i, s.method, s.path, got, s.want)
		}
	}
}

// TestAutomaticAssignmentThroughTheAPI: conversations go to the least loaded agent with room;
// the one that waits goes to the first agent who becomes free (available again, or closing
// one), and a returned one to someone else; the thread and the route say which rule did it.
func TestAutomaticAssignmentThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t).withRouting()
	for _, s := range []struct{ user, path, body string }{
		{"admin", "/v1/lines/l1/rules", `{"rules":[{"type":"least_loaded"}]}`},
		{"admin", "/v1/users/ana/availability", `{"max_open":1,"available":true}`},
		{"admin", "/v1/users/bea/availability", `{"max_open":1,"available":false}`},
	} {
		if status, out := w.call(t, s.user, "PUT", s.path, s.body); status != 200 {
			t.Fatalf("PUT %s = %d %v", s.path, status, out)
		}
	}
	holder := func(conv string) string {
		c, err := w.st.Conversation(context.Background(), w.org, conv)
		if err != nil {
			t.Fatal(err)
		}
		return c.AssigneeID
	}
	c1 := w.customer(t, "5491100000001", "wamid.a1", "hola", t0)
	c2 := w.customer(t, "5491100000002", "wamid.a2", "hola", t0.Add(time.Second))
	if got := []string{holder(c1), holder(c2)}; !cmp.Equal(got, []string{"ana", ""}) {
		t.Fatalf("holders %v, want ana and the shared inbox (ana full, bea away)", got)
	}
	status, out := w.call(t, "bea", "PUT", "/v1/users/bea/availability", `{"available":true}`)
	if status != 200 || out["assigned"] != 1.0 || holder(c2) != "bea" {
		t.Fatalf("bea available: %d %v, c2 held by %q; want c2 given to bea", status, out, holder(c2))
	}
	c3 := w.customer(t, "5491100000003", "wamid.a3", "hola", t0.Add(2*time.Second))
	if holder(c3) != "" {
		t.Fatalf("c3 held by %q, want the shared inbox (everyone full)", holder(c3))
	}
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+c1+"/close", `{"reason":"resuelto"}`); status != 200 {
		t.Fatalf("close: %d %v", status, out)
	}
	if holder(c3) != "ana" {
		t.Fatalf("after ana closed c1, c3 held by %q; want ana", holder(c3))
	}
	// bea returns c2: ana is full, so it waits; bea does not take it back.
	if status, out := w.call(t, "bea", "POST", "/v1/conversations/"+c2+"/return", ""); status != 200 || out["assignee_id"] != nil {
		t.Fatalf("return: %d %v", status, out)
	}
	if holder(c2) != "" {
		t.Fatalf("returned c2 held by %q, want the shared inbox", holder(c2))
	}
	// ana closes c3: she is free and takes c2.
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+c3+"/close", `{"reason":"resuelto"}`); status != 200 {
		t.Fatalf("close: %d %v", status, out)
	}
	status, out = w.call(t, "ana", "GET", "/v1/conversations/"+c2, "")
	if status != 200 || out["assignee_id"] != "ana" || out["route"] != "least_loaded" {
		t.Fatalf("c2 = %d %v; want ana's by least_loaded", status, out)
	}
	_, out = w.call(t, "ana", "GET", "/v1/conversations/"+c2+"/messages", "")
	var assigned []string
	for _, it := range out["items"].([]any) {
		e := it.(map[string]any)
		if e["type"] == "assigned" {
			d := e["details"].(map[string]any)
			assigned = append(assigned, d["assignee_id"].(string)+" "+d["rule"].(string)+" "+d["trigger"].(string))
		}
	}
	want := []string{"bea least_loaded agent_free", "ana least_loaded agent_free"}
	if diff := cmp.Diff(want, assigned); diff != "" {
		t.Errorf("c2's assigned events (-want +got):\n%s", diff)
	}
	for user, open := range map[string]float64{"ana": 1, "bea": 0} {
		if _, out := w.call(t, "admin", "GET", "/v1/users/"+user+"/availability", ""); out["open_count"] != open {
			t.Errorf("%s open_count = %v, want %v", user, out["open_count"], open)
		}
	}
}

// TestNewRulesHandOutWhatWaits: conversations that waited while a department had no rules go
// to its free agents as soon as an admin sets them.
func TestNewRulesHandOutWhatWaits(t *testing.T) {
	t.Parallel()
	w := newWorld(t).withRouting()
	if status, out := w.call(t, "admin", "PUT", "/v1/users/bea/availability", `{"available":true,"max_open":1}`); status != 200 {
		t.Fatalf("availability: %d %v", status, out)
	}
	c1 := w.customer(t, "5491100000001", "wamid.n1", "hola", t0)
	c2 := w.customer(t, "5491100000002", "wamid.n2", "hola", t0.Add(time.Second))
	if status, out := w.call(t, "admin", "PUT", "/v1/departments/sales/rules", `{"rules":[{"type":"random"}]}`); status != 200 {
		t.Fatalf("rules: %d %v", status, out)
	}
	got := map[string]string{}
	for _, conv := range []string{c1, c2} {
		c, err := w.st.Conversation(context.Background(), w.org, conv)
		if err != nil {
			t.Fatal(err)
		}
		got[conv] = c.AssigneeID
	}
	if diff := cmp.Diff(map[string]string{c1: "bea", c2: ""}, got); diff != "" {
		t.Errorf("holders (-want +got): the oldest goes to bea, the other waits (bea full)\n%s", diff)
	}
}
