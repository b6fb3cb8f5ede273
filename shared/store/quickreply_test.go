package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/testenv"
)

func TestQuickReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testenv.Store(t)
	org := testenv.ID("org")
	q := &inbox.QuickReply{ID: "qr1", OrgID: org, Title: "Saludo", Text: "Hola {{customer_name}}", CreatedBy: "ana", CreatedAt: tplT0, UpdatedAt: tplT0}
	if err := st.CreateQuickReply(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateQuickReply(ctx, q); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if err := st.CreateQuickReply(ctx, &inbox.QuickReply{ID: "qr2", OrgID: org, Title: "Adiós", Text: "Chau", CreatedAt: tplT0, UpdatedAt: tplT0}); err != nil {
		t.Fatal(err)
	}
	got, err := st.UpdateQuickReply(ctx, org, "qr1", func(q *inbox.QuickReply) error {
		return q.Edit("Bienvenida", "¡Hola {{customer_name}}!", tplT0.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &inbox.QuickReply{ID: "qr1", OrgID: org, Title: "Bienvenida", Text: "¡Hola {{customer_name}}!", CreatedBy: "ana",
		CreatedAt: tplT0, UpdatedAt: tplT0.Add(time.Hour), Version: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}
	if _, err := st.UpdateQuickReply(ctx, org, "nope", func(*inbox.QuickReply) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing one: %v", err)
	}
	list, err := st.QuickReplies(ctx, org)
	if err != nil || len(list) != 2 || list[0].Title != "Adiós" || list[1].Title != "Bienvenida" {
		t.Errorf("list = %v, %v; want by title", list, err)
	}
	if err := st.DeleteQuickReply(ctx, org, "qr2"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteQuickReply(ctx, org, "qr2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := st.QuickReply(ctx, testenv.ID("org"), "qr1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another org reads it: %v", err)
	}
}
