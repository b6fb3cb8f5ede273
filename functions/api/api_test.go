package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/ingest"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

type world struct {
	st   *store.Store
	api  *api
	r    *router
	org  string
	line *inbox.Line
	proc *ingest.Processor
}

// newWorld seeds one organization: departments sales and support, an admin, two sales agents
// (ana, bea), a support agent (carl), a seller (sam), a no-inbox editor (ed), and a Meta line
// routed to sales, with the templates of testTemplates.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{st: testenv.Store(t), org: testenv.ID("org")}
	users := []*inbox.User{
		{ID: "admin", Role: inbox.RoleAdmin},
		{ID: "ana", Role: inbox.RoleAgent, Departments: []string{"sales"}},
		{ID: "bea", Role: inbox.RoleAgent, Departments: []string{"sales"}},
		{ID: "carl", Role: inbox.RoleAgent, Departments: []string{"support"}},
		{ID: "sam", Role: inbox.RoleSeller, Departments: []string{"sales"}},
		{ID: "ed", Role: inbox.RoleNoInbox},
	}
	for _, d := range []string{"sales", "support"} {
		if err := w.st.PutDepartment(ctx, &inbox.Department{ID: d, OrgID: w.org, Name: d}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		u.OrgID, u.Email, u.Name = w.org, u.ID+"@"+w.org+".test", u.ID
		if err := w.st.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	w.line = &inbox.Line{ID: "l1", OrgID: w.org, Provider: "meta", Address: testenv.ID("pn"), Account: testenv.ID(""), DepartmentID: "sales", State: inbox.LineActive}
	if err := w.st.PutLine(ctx, w.line); err != nil {
		t.Fatal(err)
	}
	w.seedTemplates(t)
	w.api = &api{st: w.st, now: func() time.Time { return t0.Add(time.Hour) }}
	w.r = w.api.routes()
	w.proc = ingest.New(w.st, time.Now, nil)
	return w
}

// customer writes to the line; it returns the conversation id.
func (w *world) customer(t *testing.T, wa, id, text string, at time.Time) string {
	t.Helper()
	_, err := w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderMeta, ReceivedAt: at,
		Message: &events.Message{ID: id, Line: events.Line{Address: w.line.Address}, From: wa, ProfileName: "Cliente " + wa, Timestamp: at, Type: "text", Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	return inbox.ConversationID(w.org, w.line.ID, wa)
}

func (w *world) call(t *testing.T, user, method, path, body string) (int, map[string]any) {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: u.Path, RawQueryString: u.RawQuery, Body: body}
	if len(u.Query()) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k, v := range u.Query() {
			req.QueryStringParameters[k] = v[0]
		}
	}
	req.RequestContext.HTTP.Method = method
	if user != "" {
		req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": user, orgClaim: w.org}},
		}
	}
	resp, err := w.r.serve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, resp.Body)
		}
	}
	return resp.StatusCode, out
}

func ids(out map[string]any) []string {
	var res []string
	items, _ := out["items"].([]any)
	for _, it := range items {
		res = append(res, it.(map[string]any)["id"].(string))
	}
	return res
}

func TestDefaultViewByDepartment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.customer(t, "5491100000001", "wamid.1", "hola", t0)
	c2 := w.customer(t, "5491100000002", "wamid.2", "buenas", t0.Add(time.Minute))
	tests := []struct {
		user, query string
		want        []string
		status      int
	}{
		{"ana", "", []string{c2, c1}, 200},
		{"admin", "", []string{c2, c1}, 200},
		{"carl", "", nil, 200},
		{"sam", "", nil, 200},
		{"ed", "", nil, 403},
		{"ana", "?view=mine", nil, 200},
		{"ana", "?status=done", nil, 200},
		{"ana", "?line_id=l1&limit=1", []string{c2}, 200},
		{"ana", "?view=bogus", nil, 400},
		{"carl", "?department_id=sales", nil, 403},
		{"", "", nil, 401},
	}
	for _, tc := range tests {
		status, out := w.call(t, tc.user, "GET", "/v1/conversations"+tc.query, "")
		if status != tc.status {
			t.Errorf("%s %q: status %d, want %d (%v)", tc.user, tc.query, status, tc.status, out)
			continue
		}
		if status == 200 {
			if diff := cmp.Diff(tc.want, ids(out)); diff != "" {
				t.Errorf("%s %q: items (-want +got):\n%s", tc.user, tc.query, diff)
			}
		}
	}
}

func TestPaginationWalksEveryConversationOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var want []string
	for i := 0; i < 23; i++ {
		want = append([]string{w.customer(t, fmt.Sprintf("54911000010%02d", i), fmt.Sprintf("wamid.p%d", i), "x", t0.Add(time.Duration(i)*time.Second))}, want...)
	}
	var got []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		_, out := w.call(t, "ana", "GET", "/v1/conversations?limit=5&cursor="+cursor, "")
		got = append(got, ids(out)...)
		cursor, _ = out["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walked (-want +got):\n%s", diff)
	}
}

func TestClaimRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for round := 0; round < 5; round++ {
		conv := w.customer(t, fmt.Sprintf("54911000002%02d", round), fmt.Sprintf("wamid.r%d", round), "quién me atiende?", t0)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, agent := range []string{"ana", "bea"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = w.call(t, agent, "POST", "/v1/conversations/"+conv+"/claim", "")
			}()
		}
		wg.Wait()
		wins, conflicts := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				wins++
			case 409:
				conflicts++
			}
		}
		if wins != 1 || conflicts != 1 {
			t.Errorf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
	}
}

func TestConversationLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	conv := w.customer(t, "5491100000301", "wamid.l1", "hola", t0)
	p := "/v1/conversations/" + conv
	steps := []struct {
		user, method, path, body string
		status                   int
	}{
		{"carl", "GET", p, "", 404},                                          // other department
		{"ana", "POST", p + "/claim", "", 200},                               // claim
		{"bea", "POST", p + "/claim", "", 409},                               // already held
		{"bea", "POST", p + "/transfer", `{"department_id":"support"}`, 403}, // someone else's
		{"ana", "POST", p + "/assign", `{"assignee_id":"bea"}`, 403},         // admins only
		{"admin", "POST", p + "/assign", `{"assignee_id":"bea"}`, 200},
		{"bea", "POST", p + "/notes", `{"text":"cliente VIP"}`, 201},
		{"bea", "POST", p + "/transfer", `{"department_id":"nope"}`, 422},
		{"bea", "POST", p + "/transfer", `{"department_id":"support"}`, 200},
		{"ana", "GET", p, "", 404},  // left her department
		{"carl", "GET", p, "", 200}, // arrived in his
		{"carl", "POST", p + "/close", `{"reason":""}`, 422},
		{"carl", "POST", p + "/close", `{"reason":"resuelto","note":"ok"}`, 200},
		{"carl", "POST", p + "/close", `{"reason":"resuelto"}`, 409},
		{"carl", "POST", p + "/reopen", "", 200},
		{"carl", "POST", p + "/claim", `{"extra":1}`, 400},
	}
	for i, s := range steps {
		status, out := w.call(t, s.user, s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("step %d: %s %s %s = %d %v, want %d", i, s.user, s.method, s.path, status, out, s.status)
		}
	}
	_, out := w.call(t, "carl", "GET", p+"/messages", "")
	var kinds []string
	for _, it := range out["items"].([]any) {
		m := it.(map[string]any)
		kinds = append(kinds, m["type"].(string))
	}
	want := []string{"opened", "text", "claimed", "assigned", "note", "transferred", "closed", "reopened"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestOtherOrganizationIsInvisible(t *testing.T) {
	t.Parallel()
	a, b := newWorld(t), newWorld(t)
	conv := a.customer(t, "5491100000401", "wamid.o1", "secret", t0)
	for _, path := range []string{"/v1/conversations/" + conv, "/v1/conversations/" + conv + "/messages"} {
		if status, _ := b.call(t, "admin", "GET", path, ""); status != 404 {
			t.Errorf("other org admin GET %s = %d, want 404", path, status)
		}
	}
	if status, _ := b.call(t, "admin", "POST", "/v1/conversations/"+conv+"/claim", ""); status != 404 {
		t.Errorf("other org claim = %d, want 404", status)
	}
	if c, err := a.st.Conversation(context.Background(), a.org, conv); err != nil || c.AssigneeID != "" {
		t.Errorf("conversation changed by another org: %+v %v", c, err)
	}
}

// TestOpenAPIMatchesRoutes keeps docs/openapi.json and the router in step: no undocumented
// route, no documented route missing.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var documented, served []string
	for path, ops := range spec.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	for _, rt := range (&api{}).routes().routes {
		served = append(served, rt.method+" /"+strings.Join(rt.parts, "/"))
	}
	sort.Strings(documented)
	sort.Strings(served)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("routes (-documented +served):\n%s", diff)
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	steps := []struct {
		user, method, path, body string
		status                   int
	}{
		{"ana", "POST", "/v1/departments", `{"name":"Postventa"}`, 403},
		{"admin", "POST", "/v1/departments", `{"id":"post","name":"Postventa"}`, 201},
		{"admin", "POST", "/v1/users", `{"id":"dan","email":"Dan@Example.test","name":"Dan","role":"agent","departments":["post"]}`, 201},
		{"admin", "POST", "/v1/users", `{"email":"x@example.test","role":"boss"}`, 422},
		{"admin", "POST", "/v1/users", `{"email":"y@example.test","role":"agent","departments":["nope"]}`, 422},
		{"admin", "POST", "/v1/lines", `{"id":"l2","provider":"twilio","number":"+14155550100"}`, 201},
		{"admin", "POST", "/v1/lines", `{"id":"l3","provider":"twilio","number":"+14155550100"}`, 409},
		{"admin", "POST", "/v1/lines", `{"provider":"meta","phone_number_id":"abc"}`, 422},
		{"dan", "GET", "/v1/lines", "", 200},
		{"dan", "GET", "/v1/users", "", 403},
	}
	for i, s := range steps {
		if status, out := w.call(t, s.user, s.method, s.path, s.body); status != s.status {
			t.Fatalf("step %d: %s %s %s = %d %v, want %d", i, s.user, s.method, s.path, status, out, s.status)
		}
	}
	u, err := w.st.UserByEmail(context.Background(), "dan@example.test")
	if err != nil || u.ID != "dan" || u.OrgID != w.org {
		t.Fatalf("created user lookup = %+v, %v", u, err)
	}
	// A customer writes to the unrouted line; routing the line routes the conversation.
	l2, err := w.st.Line(context.Background(), w.org, "l2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.proc.Apply(context.Background(), &events.Inbound{Kind: events.KindMessage, Provider: events.ProviderTwilio, ReceivedAt: t0,
		Message: &events.Message{ID: "SMx", Line: events.Line{Address: l2.Address}, From: "5491150001111", Type: "text", Text: "hola"}})
	if err != nil {
		t.Fatal(err)
	}
	conv := inbox.ConversationID(w.org, "l2", "5491150001111")
	if status, _ := w.call(t, "dan", "GET", "/v1/conversations/"+conv, ""); status != 404 {
		t.Errorf("no-route conversation visible to an agent: %d", status)
	}
	if status, out := w.call(t, "admin", "PATCH", "/v1/lines/l2", `{"department_id":"post"}`); status != 200 {
		t.Fatalf("route line: %d %v", status, out)
	}
	status, out := w.call(t, "dan", "GET", "/v1/conversations", "")
	if status != 200 || !cmp.Equal(ids(out), []string{conv}) {
		t.Errorf("after routing, dan's default view = %d %v, want the conversation", status, ids(out))
	}
}

// messageKey is the key of message id written at at in a conversation.
func messageKey(convID, id string, at time.Time) store.MessageKey {
	return store.KeyOf(&inbox.Message{ConversationID: convID, ID: id, At: at})
}
