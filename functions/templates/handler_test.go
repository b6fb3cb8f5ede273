package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/infra/local/sandbox"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/templates"
	"github.com/buzon/buzon/shared/testenv"
)

// TestMain keeps the handler's logs out of test output.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// graph is the provider sandbox's Graph API, which lists three templates for any WABA:
// order_update APPROVED, welcome_back PENDING, promo_blast REJECTED.
func graph(t *testing.T, token string) *meta.Client {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MetaAccessToken: "tok", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &meta.Client{BaseURL: srv.URL, Version: "v23.0", Token: token, HTTP: srv.Client()}
}

type summary struct{ Org, Name, Language, Category, Status, Reason, Format, Body string }

func stored(t *testing.T, st *store.Store, org string) []summary {
	t.Helper()
	ts, _, err := st.Templates(context.Background(), store.TemplateQuery{Org: org})
	if err != nil {
		t.Fatal(err)
	}
	var out []summary
	for _, tp := range ts {
		out = append(out, summary{tp.Account, tp.Name, tp.Language, tp.Category, tp.Status, tp.Reason, tp.ParameterFormat, tp.Body()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TestScheduledSyncRoundTrip runs the scheduled sync against the provider sandbox: every
// registered WABA is read once, for every organization with lines on it, and a second run
// writes nothing. It uses a table of its own: the scheduled sync reads the whole registry.
func TestScheduledSyncRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := store.New(testenv.DynamoDB(t), testenv.Table(t, "scheduled"), store.NewWriteCounter())
	shared, own := testenv.ID(""), testenv.ID("")
	orgA, orgB, orgC, orgD := testenv.ID("a"), testenv.ID("b"), testenv.ID("c"), testenv.ID("d")
	for _, l := range []*inbox.Line{
		{ID: "l1", OrgID: orgA, Provider: "meta", Address: testenv.ID("pn"), Account: shared},
		{ID: "l2", OrgID: orgA, Provider: "meta", Address: testenv.ID("pn"), Account: shared},
		{ID: "l1", OrgID: orgB, Provider: "meta", Address: testenv.ID("pn"), Account: shared},
		{ID: "l1", OrgID: orgC, Provider: "meta", Address: testenv.ID("pn"), Account: own},
		{ID: "l1", OrgID: orgD, Provider: "twilio", Address: "+1415" + testenv.ID("")[:7], Account: "AC1"},
	} {
		l.State = inbox.LineActive
		if err := st.PutLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	h := &handler{sync: templates.New(st, graph(t, "tok"), func() time.Time { return now })}
	ev := lambdaevents.EventBridgeEvent{ID: "e1", DetailType: "Scheduled Event", Source: "aws.events"}

	res, err := h.handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(templates.Result{WABAs: 2, Templates: 6, Changed: 9}, res); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	want := func(waba string) []summary {
		return []summary{
			{waba, "order_update", "es_AR", "UTILITY", "APPROVED", "", "POSITIONAL", "Hola {{1}}, tu pedido {{2}} ya está en camino."},
			{waba, "promo_blast", "es", "MARKETING", "REJECTED", "PROMOTIONAL", "POSITIONAL", "¡50% OFF en todo! Usá el código {{1}}."},
			{waba, "welcome_back", "es", "MARKETING", "PENDING", "", "NAMED", "Hola {{customer_name}}, tenemos novedades para vos."},
		}
	}
	for org, waba := range map[string]string{orgA: shared, orgB: shared, orgC: own} {
		if diff := cmp.Diff(want(waba), stored(t, st, org)); diff != "" {
			t.Errorf("templates of %s (-want +got):\n%s", org, diff)
		}
	}
	if got := stored(t, st, orgD); len(got) != 0 {
		t.Errorf("Twilio-only org got templates: %v", got)
	}
	tp, err := st.Template(ctx, orgA, shared, "order_update", "es_AR")
	if err != nil || !tp.Sendable() || !tp.SyncedAt.Equal(now) {
		t.Errorf("order_update = %+v, %v; want sendable, synced now", tp, err)
	}

	// Nothing changed at the provider: nothing is written.
	writes := store.NewWriteCounter()
	st2 := store.New(testenv.DynamoDB(t), testenv.Table(t, "scheduled"), writes)
	h.sync = templates.New(st2, graph(t, "tok"), func() time.Time { return now.Add(6 * time.Hour) })
	res, err = h.handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(templates.Result{WABAs: 2, Templates: 6}, res); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	if _, calls := writes.Units(); calls != 0 {
		t.Errorf("second run made %d writes, want none", calls)
	}

	// A refused token fails every account, and the run reports it.
	h.sync = templates.New(st, graph(t, "expired"), time.Now)
	res, err = h.handle(ctx, ev)
	if err == nil || res.Failed != 2 {
		t.Errorf("refused token: %+v, %v; want 2 failed and an error", res, err)
	}
	if diff := cmp.Diff(want(shared), stored(t, st, orgA)); diff != "" {
		t.Errorf("a failed run changed templates (-want +got):\n%s", diff)
	}
}

func TestNoCredentialsIsNoSync(t *testing.T) {
	t.Parallel()
	res, err := (&handler{}).handle(context.Background(), lambdaevents.EventBridgeEvent{})
	if err != nil || res != (templates.Result{}) {
		t.Errorf("handle = %+v, %v; want nothing done, no error", res, err)
	}
}
