package inbox

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr(s string) *string { return &s }

func TestContactEdit(t *testing.T) {
	t.Parallel()
	base := Contact{WaID: "549", Name: "Lu", ProfileName: "Lu", Email: "a@b.co", Fields: map[string]string{"zona": "norte", "x": "1"}}
	tests := []struct {
		name    string
		edit    ContactEdit
		want    Contact
		wantErr bool
	}{
		{name: "agent's name", edit: ContactEdit{Name: ptr(" Lucía ")},
			want: Contact{WaID: "549", Name: "Lucía", ProfileName: "Lu", Named: true, Email: "a@b.co", Fields: base.Fields}},
		{name: "name given back", edit: ContactEdit{Name: ptr("")},
			want: Contact{WaID: "549", Name: "Lu", ProfileName: "Lu", Email: "a@b.co", Fields: base.Fields}},
		{name: "fields merged, null and blank remove", edit: ContactEdit{Fields: map[string]*string{"zona": nil, "x": ptr(" "), "nuevo": ptr("sí")}},
			want: Contact{WaID: "549", Name: "Lu", ProfileName: "Lu", Email: "a@b.co", Fields: map[string]string{"nuevo": "sí"}}},
		{name: "email removed", edit: ContactEdit{Email: ptr("")},
			want: Contact{WaID: "549", Name: "Lu", ProfileName: "Lu", Fields: base.Fields}},
		{name: "bad email", edit: ContactEdit{Email: ptr("Ana <a@b.co>")}, wantErr: true},
		{name: "blank field name", edit: ContactEdit{Fields: map[string]*string{" ": ptr("v")}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base
			err := tt.edit.Apply(&c)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidContact) || !cmp.Equal(c, base) {
					t.Fatalf("err %v, contact %+v: want ErrInvalidContact and no change", err, c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	m := func(n int) time.Time { return at.Add(time.Duration(n) * time.Minute) }
	cv := &Conversation{ID: "c", LineID: "l", Status: StatusOpen, DepartmentID: "support", AssigneeID: "bea"}
	evs := []*Event{
		{Type: EventClosed, At: m(5), Details: map[string]string{"reason": "venta"}}, // out of order on purpose
		{Type: EventOpened, At: m(0), Details: map[string]string{"department_id": "sales"}},
		{Type: EventClaimed, At: m(1), Details: map[string]string{"assignee_id": "ana"}},
		{Type: EventNote, At: m(2)},
		{Type: EventReopened, At: m(10)},
		{Type: EventTransferred, At: m(11), Details: map[string]string{"department_id": "support"}},
	}
	want := []Cycle{
		{ConversationID: "c", LineID: "l", DepartmentID: "sales", Agents: []string{"ana"}, OpenedAt: m(0), ClosedAt: m(5), CloseReason: "venta"},
		{ConversationID: "c", LineID: "l", DepartmentID: "support", Agents: []string{"bea"}, OpenedAt: m(10)},
	}
	if diff := cmp.Diff(want, Cycles(cv, evs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
