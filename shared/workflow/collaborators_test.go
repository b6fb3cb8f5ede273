package workflow

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
)

// TestCollaborators (A7): the assignee pulls in an agent of another department, who then
// sees the conversation in their collaborating view, writes notes, replies only once the line
// allows it, and takes nothing else; a department colleague who does not hold it cannot add
// anyone; the collaborator leaves; closing ends every collaboration. The timeline records
// each step.
func TestCollaborators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	cid := &inbox.User{ID: "cid", OrgID: w.org, Email: "cid@" + w.org + ".test", Name: "Cid", Role: inbox.RoleAgent, Departments: []string{"support"}}
	if err := w.st.PutUser(ctx, cid); err != nil {
		t.Fatal(err)
	}
	cv := w.customer(t, "5491100000001", "wamid.1")
	if cv.AssigneeID != "ana" {
		t.Fatalf("held by %q, want ana", cv.AssigneeID)
	}
	s := w.service(w.outbound)
	ana, bea, asCid := Caller{User: w.user(t, "ana")}, Caller{User: w.user(t, "bea")}, Caller{User: cid}

	if _, _, err := s.Visible(ctx, cid, cv.ID); !errors.Is(err, access.ErrInvisible) {
		t.Fatalf("cid before: %v, want invisible", err)
	}
	if _, err := s.AddCollaborator(ctx, bea, cv.ID, "cid"); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("bea (not the assignee) adds: %v, want forbidden", err)
	}
	var unknown *UnknownError
	if _, err := s.AddCollaborator(ctx, ana, cv.ID, "nobody"); !errors.As(err, &unknown) {
		t.Errorf("unknown user: %v, want UnknownError", err)
	}
	got, err := s.AddCollaborator(ctx, ana, cv.ID, "cid")
	if err != nil || !got.HasCollaborator("cid") {
		t.Fatalf("ana adds cid: %+v, %v", got, err)
	}
	if _, err := s.AddCollaborator(ctx, ana, cv.ID, "cid"); !errors.Is(err, inbox.ErrSameTarget) {
		t.Errorf("cid again: %v, want ErrSameTarget", err)
	}
	list, err := s.Collaborating(ctx, cid)
	if err != nil || len(list) != 1 || list[0].ID != cv.ID {
		t.Fatalf("cid's collaborating view = %v, %v; want the conversation", list, err)
	}
	if _, err := s.Note(ctx, asCid, cv.ID, "lo miro"); err != nil {
		t.Errorf("cid notes: %v", err)
	}
	reply := func() error {
		_, err := s.Send(ctx, asCid, cv.ID, &inbox.Message{Type: "text", Text: "hola, soy Cid"}, "", Request{})
		return err
	}
	if err := reply(); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("cid replies on a notes-only line: %v, want forbidden", err)
	}
	w.line.CollaboratorsReply = true
	if err := w.st.PutLine(ctx, w.line); err != nil {
		t.Fatal(err)
	}
	if err := reply(); err != nil {
		t.Errorf("cid replies once the line allows it: %v", err)
	}
	if _, err := s.Close(ctx, asCid, cv.ID, "done", ""); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("cid closes: %v, want forbidden", err)
	}
	if _, err := s.RemoveCollaborator(ctx, asCid, cv.ID, "cid"); err != nil {
		t.Fatalf("cid leaves: %v", err)
	}
	if list, err := s.Collaborating(ctx, cid); err != nil || len(list) != 0 {
		t.Errorf("cid's view after leaving = %v, %v; want empty", list, err)
	}
	if _, _, err := s.Visible(ctx, cid, cv.ID); !errors.Is(err, access.ErrInvisible) {
		t.Errorf("cid after leaving: %v, want invisible", err)
	}

	// Closing ends the collaborations: bea's pointer goes with it.
	if _, err := s.AddCollaborator(ctx, ana, cv.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, ana, cv.ID, "resuelto", ""); err != nil {
		t.Fatal(err)
	}
	if ids, err := w.st.Collaborations(ctx, w.org, "bea"); err != nil || len(ids) != 0 {
		t.Errorf("bea's collaborations after the close = %v, %v; want none", ids, err)
	}

	entries, _, err := w.st.Thread(ctx, cv.ID, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range entries {
		if ev := e.Event; ev != nil && (ev.Type == inbox.EventCollaboratorAdded || ev.Type == inbox.EventCollaboratorRemoved) {
			steps = append(steps, ev.ActorID+" "+string(ev.Type)+" "+ev.Details["user_id"])
		}
	}
	want := []string{"ana collaborator_added cid", "cid collaborator_removed cid", "ana collaborator_added bea"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	final, err := w.st.Conversation(ctx, w.org, cv.ID)
	if err != nil || final.AssigneeID != "ana" {
		t.Errorf("held by %q after cid's reply (%v), want ana still", final.AssigneeID, err)
	}
}
