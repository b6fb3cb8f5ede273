package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLabels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000801", "wamid.lb1", "hola", t0)
	other := w.customer(t, "5491100000802", "wamid.lb2", "hola", t0.Add(time.Minute))
	p := "/v1/conversations/" + conv + "/labels"

	status, vip := w.call(t, "ana", "POST", "/v1/labels", `{"name":"VIP","description":"buenos clientes","color":"#ffd700"}`)
	if status != 201 || vip["color"] != "#FFD700" || vip["name"] != "VIP" {
		t.Fatalf("create VIP: %d %v", status, vip)
	}
	vipID := vip["id"].(string)
	status, urgent := w.call(t, "admin", "POST", "/v1/labels", `{"name":"Urgente"}`)
	if status != 201 || urgent["color"] != "#9E9E9E" {
		t.Fatalf("create Urgente: %d %v", status, urgent)
	}
	urgentID := urgent["id"].(string)

	steps := []struct {
		name, user, method, path, body string
		status                         int
		labels                         []string
	}{
		{name: "same name, other case", user: "bea", method: "POST", path: "/v1/labels", body: `{"name":"vip"}`, status: 409},
		{name: "sellers do not create", user: "sam", method: "POST", path: "/v1/labels", body: `{"name":"Mío"}`, status: 403},
		{name: "bad color", user: "admin", method: "POST", path: "/v1/labels", body: `{"name":"x","color":"red"}`, status: 422},
		{name: "no name", user: "admin", method: "POST", path: "/v1/labels", body: `{"color":"#000000"}`, status: 422},
		{name: "add", user: "ana", method: "POST", path: p, body: `{"add":["` + vipID + `"]}`, status: 200, labels: []string{vipID}},
		{name: "add again: no change", user: "bea", method: "POST", path: p, body: `{"add":["` + vipID + `"]}`, status: 200, labels: []string{vipID}},
		{name: "add a second, remove none", user: "bea", method: "POST", path: p, body: `{"add":["` + urgentID + `"],"remove":[]}`, status: 200, labels: []string{vipID, urgentID}},
		{name: "remove", user: "ana", method: "POST", path: p, body: `{"remove":["` + urgentID + `"]}`, status: 200, labels: []string{vipID}},
		{name: "unknown label", user: "ana", method: "POST", path: p, body: `{"add":["lb_nope"]}`, status: 422},
		{name: "added and removed", user: "ana", method: "POST", path: p, body: `{"add":["` + vipID + `"],"remove":["` + vipID + `"]}`, status: 422},
		{name: "nothing asked", user: "ana", method: "POST", path: p, body: `{}`, status: 422},
		{name: "other department", user: "carl", method: "POST", path: p, body: `{"add":["` + urgentID + `"]}`, status: 404},
		{name: "seller, not theirs", user: "sam", method: "POST", path: p, body: `{"add":["` + urgentID + `"]}`, status: 404},
	}
	for _, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("%s: %s %s %s = %d %v, want %d", s.name, s.user, s.method, s.path, status, out, s.status)
		}
		if s.labels != nil {
			var got []string
			for _, l := range out["labels"].([]any) {
				got = append(got, l.(string))
			}
			if diff := cmp.Diff(s.labels, got); diff != "" {
				t.Errorf("%s: labels (-want +got):\n%s", s.name, diff)
			}
		}
	}

	_, out := w.call(t, "bea", "GET", "/v1/labels", "")
	var names []string
	for _, it := range out["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"Urgente", "VIP"}, names); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}

	for _, q := range []string{"?label_id=" + vipID, "?view=all&label_id=" + vipID, "?q=cliente&label_id=" + vipID} {
		if status, out := w.call(t, "ana", "GET", "/v1/conversations"+q, ""); status != 200 || !cmp.Equal(ids(out), []string{conv}) {
			t.Errorf("GET %s = %d %v, want only %s (not %s)", q, status, ids(out), conv, other)
		}
	}
	if status, out := w.call(t, "ana", "GET", "/v1/conversations?label_id="+urgentID, ""); status != 200 || len(ids(out)) != 0 {
		t.Errorf("filter by a label nobody has = %d %v", status, ids(out))
	}

	// The timeline has one "labelled" event per change, with what changed.
	_, out = w.call(t, "ana", "GET", "/v1/conversations/"+conv+"/messages", "")
	var changes []map[string]any
	for _, it := range out["items"].([]any) {
		if e := it.(map[string]any); e["type"] == "labelled" {
			changes = append(changes, e["details"].(map[string]any))
		}
	}
	want := []map[string]any{{"added": vipID, "removed": ""}, {"added": urgentID, "removed": ""}, {"added": "", "removed": urgentID}}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("labelled events (-want +got):\n%s", diff)
	}
}

func TestTooManyLabels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000811", "wamid.lb11", "hola", t0)
	var add string
	for i := 0; i < 11; i++ {
		status, l := w.call(t, "admin", "POST", "/v1/labels", fmt.Sprintf(`{"name":"etiqueta %d"}`, i))
		if status != 201 {
			t.Fatalf("create label %d: %d %v", i, status, l)
		}
		if i > 0 {
			add += ","
		}
		add += `"` + l["id"].(string) + `"`
	}
	status, out := w.call(t, "ana", "POST", "/v1/conversations/"+conv+"/labels", `{"add":[`+add+`]}`)
	if status != 422 || out["error"].(map[string]any)["code"] != "too_many_labels" {
		t.Errorf("eleven labels = %d %v, want 422 too_many_labels", status, out)
	}
}
