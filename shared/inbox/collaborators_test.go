package inbox

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCollaborators(t *testing.T) {
	t.Parallel()
	c := &Conversation{Status: StatusOpen, AssigneeID: "ana"}
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"add bea", func() error { return c.AddCollaborator("bea") }, nil},
		{"bea again", func() error { return c.AddCollaborator("bea") }, ErrSameTarget},
		{"the assignee", func() error { return c.AddCollaborator("ana") }, ErrCollaboratorHolds},
		{"remove someone who is not one", func() error { return c.RemoveCollaborator("cid") }, ErrNotCollaborator},
		{"add cid", func() error { return c.AddCollaborator("cid") }, nil},
		{"bea leaves", func() error { return c.RemoveCollaborator("bea") }, nil},
	}
	for _, s := range steps {
		if err := s.do(); !errors.Is(err, s.want) {
			t.Fatalf("%s: %v, want %v", s.name, err, s.want)
		}
	}
	if diff := cmp.Diff([]string{"cid"}, c.Collaborators); diff != "" {
		t.Errorf("collaborators (-want +got):\n%s", diff)
	}
	if !c.HasCollaborator("cid") || c.HasCollaborator("bea") || c.HasCollaborator("") {
		t.Errorf("HasCollaborator wrong for %v", c.Collaborators)
	}
	for i := len(c.Collaborators); i < MaxCollaborators; i++ {
		if err := c.AddCollaborator(fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddCollaborator("one more"); !errors.Is(err, ErrTooManyCollaborators) {
		t.Errorf("collaborator %d: %v, want ErrTooManyCollaborators", MaxCollaborators+1, err)
	}
	// Closing ends every collaboration; a done conversation takes none.
	if err := c.Close("ok", time.Now()); err != nil || c.Collaborators != nil {
		t.Fatalf("closed: %v, collaborators %v; want none", err, c.Collaborators)
	}
	if err := c.AddCollaborator("bea"); !errors.Is(err, ErrClosed) {
		t.Errorf("add to a done conversation: %v, want ErrClosed", err)
	}
}
