package ingest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/testenv"
)

// TestTemplateStatusAppliesAtOnce: a message_template_status_update changes the template of
// every organization with a line on the WABA, is kept as a provider event, and never moves a
// status back.
func TestTemplateStatusAppliesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	waba := testenv.ID("")
	other := testenv.ID("org")
	for _, l := range []*inbox.Line{
		{ID: "lw", OrgID: f.org, Provider: "meta", Address: testenv.ID("pn"), Account: waba, State: inbox.LineActive},
		{ID: "lw", OrgID: other, Provider: "meta", Address: testenv.ID("pn"), Account: waba, State: inbox.LineActive},
	} {
		if err := f.st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	comp := json.RawMessage(`[{"type":"BODY","text":"Hola {{1}}"}]`)
	synced := &inbox.Template{OrgID: f.org, Account: waba, ID: "9007199254740993", Name: "order_update", Language: "es_AR",
		Status: inbox.TemplateApproved, Components: comp, StatusAt: t0, SyncedAt: t0}
	if err := f.st.SaveTemplate(ctx, synced); err != nil {
		t.Fatal(err)
	}
	event := func(name, ev string, at time.Time) *events.Inbound {
		return &events.Inbound{Kind: events.KindTemplateStatus, Provider: events.ProviderMeta, ReceivedAt: at.Add(time.Second),
			Template: &events.TemplateStatus{Account: waba, TemplateID: "9007199254740993", Name: name, Language: "es_AR",
				Event: ev, Reason: "NONE", Timestamp: at}}
	}
	status := func(org, name string) (string, bool) {
		t.Helper()
		tp, err := f.st.Template(ctx, org, waba, name, "es_AR")
		if err != nil {
			t.Fatalf("template %s of %s: %v", name, org, err)
		}
		return tp.Status, tp.Synced()
	}

	steps := []struct {
		name       string
		ev         *events.Inbound
		want       ingest.Result
		wantStatus string // of f.org's order_update
	}{
		{"paused", event("order_update", "PAUSED", t0.Add(time.Hour)), ingest.TemplateChanged, inbox.TemplatePaused},
		{"the same again (a retry)", event("order_update", "PAUSED", t0.Add(time.Hour)), ingest.TemplateChanged, inbox.TemplatePaused},
		{"an older event arriving late", event("order_update", "APPROVED", t0.Add(30*time.Minute)), ingest.Stale, inbox.TemplatePaused},
		{"flagged says no status", event("order_update", "FLAGGED", t0.Add(2*time.Hour)), ingest.Kept, inbox.TemplatePaused},
		{"reinstated", event("order_update", "REINSTATED", t0.Add(3*time.Hour)), ingest.TemplateChanged, inbox.TemplateApproved},
	}
	for _, s := range steps {
		if got := f.apply(t, s.ev); got != s.want {
			t.Errorf("%s: result %s, want %s", s.name, got, s.want)
		}
		if got, _ := status(f.org, "order_update"); got != s.wantStatus {
			t.Errorf("%s: status %s, want %s", s.name, got, s.wantStatus)
		}
	}
	// The other organization on the WABA had not synced it: it knows the status, not the content.
	if got, synced := status(other, "order_update"); got != inbox.TemplateApproved || synced {
		t.Errorf("other org: %s synced=%v, want APPROVED, not synced", got, synced)
	}
	// A template nobody has synced yet is known by its status until the next sync.
	f.apply(t, event("summer_sale", "REJECTED", t0))
	if got, synced := status(f.org, "summer_sale"); got != inbox.TemplateRejected || synced {
		t.Errorf("new template: %s synced=%v, want REJECTED, not synced", got, synced)
	}
	// A WABA no organization has is kept only.
	ev := event("order_update", "APPROVED", t0)
	ev.Template.Account = testenv.ID("")
	if got := f.apply(t, ev); got != ingest.Kept {
		t.Errorf("unknown WABA: %s, want kept", got)
	}
}
