package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

var tplT0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// TestTemplateStatusOrder plays a sync and status webhooks in every order that matters: the
// newest status stays, whoever wrote it, and a sync still brings the components.
func TestTemplateStatusOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org, waba := testenv.ID("org"), testenv.ID("waba")
	comp := json.RawMessage(`[{"type":"BODY","text":"Hola {{1}}"}]`)
	synced := func(status string, at time.Time) *inbox.Template {
		return &inbox.Template{OrgID: org, Account: waba, ID: "77", Name: "order_update", Language: "es_AR", Category: "UTILITY",
			Status: status, ParameterFormat: "POSITIONAL", Components: comp, StatusAt: at, SyncedAt: at}
	}
	webhook := func(status string, at time.Time) store.TemplateStatusUpdate {
		return store.TemplateStatusUpdate{Org: org, Account: waba, Name: "order_update", Language: "es_AR", ID: "77", Status: status, At: at}
	}
	type step struct {
		name        string
		sync        *inbox.Template
		hook        *store.TemplateStatusUpdate
		wantApplied bool
		wantStatus  string
	}
	hook := func(u store.TemplateStatusUpdate) *store.TemplateStatusUpdate { return &u }
	steps := []step{
		{name: "webhook before any sync: a stub", hook: hook(webhook(inbox.TemplatePending, tplT0)), wantApplied: true, wantStatus: inbox.TemplatePending},
		{name: "sync after it", sync: synced(inbox.TemplateApproved, tplT0.Add(time.Minute)), wantStatus: inbox.TemplateApproved},
		{name: "late retry of the old webhook", hook: hook(webhook(inbox.TemplatePending, tplT0)), wantStatus: inbox.TemplateApproved},
		{name: "webhook of the sync's second wins", hook: hook(webhook(inbox.TemplatePaused, tplT0.Add(time.Minute))), wantApplied: true, wantStatus: inbox.TemplatePaused},
		{name: "a sync of the same second keeps it", sync: synced(inbox.TemplateApproved, tplT0.Add(time.Minute)), wantStatus: inbox.TemplatePaused},
		{name: "a later sync moves it", sync: synced(inbox.TemplateApproved, tplT0.Add(time.Hour)), wantStatus: inbox.TemplateApproved},
	}
	for _, s := range steps {
		if s.sync != nil {
			if err := st.SaveTemplate(ctx, s.sync); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		} else {
			applied, err := st.ApplyTemplateStatus(ctx, *s.hook)
			if err != nil || applied != s.wantApplied {
				t.Fatalf("%s: applied = %v, %v; want %v", s.name, applied, err, s.wantApplied)
			}
		}
		got, err := st.Template(ctx, org, waba, "order_update", "es_AR")
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.Status != s.wantStatus {
			t.Errorf("%s: status %s, want %s", s.name, got.Status, s.wantStatus)
		}
		if s.sync != nil && string(got.Components) != string(comp) {
			t.Errorf("%s: components %s, want the sync's", s.name, got.Components)
		}
	}

	// A template the provider no longer lists is DELETED, unless a newer status is stored.
	stored, err := st.Template(ctx, org, waba, "order_update", "es_AR")
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := st.MarkTemplateDeleted(ctx, stored, tplT0); err != nil || gone {
		t.Errorf("older deletion = %v, %v; want refused", gone, err)
	}
	if gone, err := st.MarkTemplateDeleted(ctx, stored, tplT0.Add(2*time.Hour)); err != nil || !gone {
		t.Errorf("deletion = %v, %v; want applied", gone, err)
	}
	if got, _ := st.Template(ctx, org, waba, "order_update", "es_AR"); got.Status != inbox.TemplateDeleted || got.Sendable() {
		t.Errorf("after deletion: %+v", got)
	}
	if _, err := st.Template(ctx, org, waba, "nope", "es"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown template: %v, want ErrNotFound", err)
	}
}

func TestTemplatesListAndRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org, other := testenv.ID("org"), testenv.ID("org")
	w1, w2 := testenv.ID("1"), testenv.ID("2")
	put := func(org, waba, name, status string) {
		t.Helper()
		err := st.SaveTemplate(ctx, &inbox.Template{OrgID: org, Account: waba, Name: name, Language: "es", Status: status,
			Components: json.RawMessage(`[]`), StatusAt: tplT0, SyncedAt: tplT0})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(org, w1, "a", inbox.TemplateApproved)
	put(org, w1, "b", inbox.TemplateRejected)
	put(org, w1, "c", inbox.TemplateApproved)
	put(org, w2, "a", inbox.TemplateApproved)
	put(other, w1, "z", inbox.TemplateApproved)

	names := func(ts []*inbox.Template) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Account[:1]+":"+t.Name)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.TemplateQuery
		want []string
	}{
		{"all of the org", store.TemplateQuery{Org: org}, []string{"1:a", "1:b", "1:c", "2:a"}},
		{"one WABA", store.TemplateQuery{Org: org, Account: w1}, []string{"1:a", "1:b", "1:c"}},
		{"approved", store.TemplateQuery{Org: org, Status: inbox.TemplateApproved}, []string{"1:a", "1:c", "2:a"}},
		{"other org", store.TemplateQuery{Org: other}, []string{"1:z"}},
	}
	for _, tt := range tests {
		got, next, err := st.Templates(ctx, tt.q)
		if err != nil || next != "" {
			t.Fatalf("%s: next %q, %v", tt.name, next, err)
		}
		if diff := cmp.Diff(tt.want, names(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// Pages of two approved templates: the filter skips b without ending the page early.
	var paged []string
	cursor := ""
	for range 4 {
		got, next, err := st.Templates(ctx, store.TemplateQuery{Org: org, Status: inbox.TemplateApproved, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, names(got)...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"1:a", "1:c", "2:a"}, paged); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if _, _, err := st.Templates(ctx, store.TemplateQuery{Org: org, Account: w1, Cursor: "Q#x"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("foreign cursor: %v, want ErrBadCursor", err)
	}

	// Putting a Meta line registers its WABA once per organization; Twilio lines do not.
	lines := []*inbox.Line{
		{ID: "l1", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), Account: w1, State: inbox.LineActive},
		{ID: "l2", OrgID: org, Provider: "meta", Address: testenv.ID("pn"), Account: w1, State: inbox.LineActive},
		{ID: "l1", OrgID: other, Provider: "meta", Address: testenv.ID("pn"), Account: w1, State: inbox.LineActive},
		{ID: "l3", OrgID: org, Provider: "twilio", Address: "+1415" + testenv.ID("")[:7], Account: w2, State: inbox.LineActive},
	}
	for _, l := range lines {
		if err := st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	regs, err := st.WABAs(ctx, w1)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.WABA{{ID: w1, Org: org}, {ID: w1, Org: other}}
	if want[0].Org > want[1].Org {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, regs); diff != "" {
		t.Errorf("registry of %s (-want +got):\n%s", w1, diff)
	}
	if regs, err := st.WABAs(ctx, w2); err != nil || len(regs) != 0 {
		t.Errorf("registry of the Twilio account: %v, %v; want none", regs, err)
	}
}

func TestClaimTemplateSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	steps := []struct {
		at       time.Time
		want     bool
		wantFree time.Time
	}{
		{tplT0, true, time.Time{}},
		{tplT0.Add(20 * time.Second), false, tplT0.Add(time.Minute)},
		{tplT0.Add(time.Minute), true, time.Time{}},
	}
	for i, s := range steps {
		ok, free, err := st.ClaimTemplateSync(ctx, org, s.at, time.Minute)
		if err != nil || ok != s.want || !free.Equal(s.wantFree) {
			t.Errorf("step %d: %v %v %v, want %v %v", i, ok, free, err, s.want, s.wantFree)
		}
	}
}
