package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClosingReasons(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	free := w.customer(t, "5491100000901", "wamid.r1", "hola", t0)
	listed := w.customer(t, "5491100000902", "wamid.r2", "hola", t0.Add(time.Minute))
	wrong := w.customer(t, "5491100000903", "wamid.r3", "hola", t0.Add(2*time.Minute))

	// No list: any reason closes.
	if status, out := w.call(t, "admin", "POST", "/v1/conversations/"+free+"/close", `{"reason":"lo que sea"}`); status != 200 {
		t.Fatalf("close without a list: %d %v", status, out)
	}
	if status, out := w.call(t, "ana", "PUT", "/v1/closing-reasons", `{"reasons":["Venta"]}`); status != 403 {
		t.Fatalf("agent configures: %d %v, want 403", status, out)
	}
	for _, body := range []string{`{"reasons":["a","A"]}`, `{"reasons":[" "]}`} {
		if status, out := w.call(t, "admin", "PUT", "/v1/closing-reasons", body); status != 422 {
			t.Errorf("%s: %d %v, want 422", body, status, out)
		}
	}
	if status, out := w.call(t, "admin", "PUT", "/v1/closing-reasons", `{"reasons":["Venta"," Sin respuesta "]}`); status != 200 {
		t.Fatalf("organization's list: %d %v", status, out)
	}
	if status, out := w.call(t, "admin", "PUT", "/v1/departments/sales/closing-reasons", `{"reasons":["Venta cerrada","Presupuesto enviado"]}`); status != 200 {
		t.Fatalf("sales' list: %d %v", status, out)
	}
	if status, _ := w.call(t, "admin", "PUT", "/v1/departments/nope/closing-reasons", `{"reasons":["x"]}`); status != 404 {
		t.Errorf("unknown department: %d, want 404", status)
	}
	gets := []struct {
		query string
		want  map[string]any
	}{
		{"", map[string]any{"reasons": []any{"Venta", "Sin respuesta"}, "department_id": nil}},
		{"?department_id=sales", map[string]any{"reasons": []any{"Venta cerrada", "Presupuesto enviado"}, "department_id": "sales"}},
		{"?department_id=support", map[string]any{"reasons": []any{"Venta", "Sin respuesta"}, "department_id": nil}},
	}
	for _, g := range gets {
		status, out := w.call(t, "ana", "GET", "/v1/closing-reasons"+g.query, "")
		if diff := cmp.Diff(g.want, out); status != 200 || diff != "" {
			t.Errorf("GET %s: %d (-want +got):\n%s", g.query, status, diff)
		}
	}

	// The conversations are in sales: its list applies, case ignored, spelled as listed.
	status, out := w.call(t, "ana", "POST", "/v1/conversations/"+wrong+"/close", `{"reason":"Venta"}`)
	if status != 422 || out["error"].(map[string]any)["code"] != "unknown_reason" {
		t.Fatalf("reason of another list: %d %v, want 422 unknown_reason", status, out)
	}
	if diff := cmp.Diff([]any{"Venta cerrada", "Presupuesto enviado"}, out["error"].(map[string]any)["reasons"]); diff != "" {
		t.Errorf("reasons offered (-want +got):\n%s", diff)
	}
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+listed+"/close", `{"reason":"venta CERRADA","note":"libre"}`); status != 200 {
		t.Fatalf("listed reason: %d %v", status, out)
	}
	status, out = w.call(t, "admin", "GET", "/v1/contacts/5491100000902", "")
	if cycles := out["conversations"].([]any); status != 200 || cycles[0].(map[string]any)["closing_reason"] != "Venta cerrada" {
		t.Errorf("closing reason kept: %d %v", status, out)
	}

	// An empty list removes the department's: the organization's applies again.
	if status, out := w.call(t, "admin", "PUT", "/v1/departments/sales/closing-reasons", `{"reasons":[]}`); status != 200 {
		t.Fatalf("remove sales' list: %d %v", status, out)
	}
	if status, out := w.call(t, "ana", "POST", "/v1/conversations/"+wrong+"/close", `{"reason":"venta"}`); status != 200 {
		t.Fatalf("organization's reason: %d %v", status, out)
	}
}
