package workflow

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// Contacts (C1): looking up, reading with its history, and editing a contact, each checked
// by access on the contact.

// FindContacts lists the contacts f matches that the caller may see, a page of limit after
// cursor. A seller's listing is narrowed to their own contacts.
func (s *Service) FindContacts(ctx context.Context, by Caller, f inbox.ContactFilter, limit int, cursor string) ([]*inbox.Contact, string, error) {
	owner, err := access.ContactsOwner(by.User, f.Owner)
	if err != nil {
		return nil, "", err
	}
	f.Owner = owner
	if f.Empty() {
		return nil, "", ErrNoContactFilter
	}
	found, next, err := s.st.FindContacts(ctx, by.User.OrgID, f, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	shown := found[:0]
	for _, ct := range found {
		if access.SeeContact(by.User, ct) == nil {
			shown = append(shown, ct)
		}
	}
	return shown, next, nil
}

// ContactHistory is a contact and the cycles of its conversations on every line, oldest
// first. It reads the contact, its conversations (one per line) and their events.
func (s *Service) ContactHistory(ctx context.Context, by Caller, waID string) (*inbox.Contact, []inbox.Cycle, error) {
	ct, err := s.visibleContact(ctx, by.User, waID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(ct.LineIDs))
	for i, l := range ct.LineIDs {
		ids[i] = inbox.ConversationID(ct.OrgID, l, ct.WaID)
	}
	convs, err := s.st.Conversations(ctx, ct.OrgID, ids)
	if err != nil {
		return nil, nil, err
	}
	var cycles []inbox.Cycle
	for _, cv := range convs {
		evs, err := s.st.Events(ctx, cv.ID)
		if err != nil {
			return nil, nil, err
		}
		cycles = append(cycles, inbox.Cycles(cv, evs)...)
	}
	sortCycles(cycles)
	return ct, cycles, nil
}

// EditContact changes a contact as e says, if the caller may (access.EditContact; a new owner
// must be a user of the organization). A new name is copied to the contact's conversations,
// where lists show it.
func (s *Service) EditContact(ctx context.Context, by Caller, waID string, e inbox.ContactEdit) (*inbox.Contact, error) {
	u := by.User
	if e.Owner != nil && *e.Owner != "" {
		if _, err := s.st.User(ctx, u.OrgID, *e.Owner); errors.Is(err, store.ErrNotFound) {
			return nil, &UnknownError{Field: "owner_id", Entity: "user", ID: *e.Owner}
		} else if err != nil {
			return nil, err
		}
	}
	var before *inbox.Contact
	ct, err := s.st.EditContact(ctx, u.OrgID, waID, func(ct *inbox.Contact) error {
		if err := access.EditContact(u, ct, e.ChangesOwner(ct)); err != nil {
			return err
		}
		b := *ct
		before = &b
		return e.Apply(ct)
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, access.ErrContactInvisible) {
		return nil, &store.NotFoundError{Entity: "contact"}
	}
	if err != nil {
		return nil, err
	}
	if ct.Name != before.Name || ct.Named != before.Named {
		for _, l := range ct.LineIDs {
			if err := s.renameConversation(ctx, ct, l); err != nil {
				return nil, err
			}
		}
	}
	by.log().InfoContext(ctx, "contact edited", "contact", ct.WaID, "owner_changed", before.OwnerID != ct.OwnerID)
	return ct, s.record(ctx, by, u.OrgID, Change{Entity: "contact", ID: ct.WaID, Action: "update", Before: contactStateOf(before), After: contactStateOf(ct)})
}

// renameConversation gives the contact's conversation on line its name.
func (s *Service) renameConversation(ctx context.Context, ct *inbox.Contact, line string) error {
	_, err := s.st.UpdateConversation(ctx, ct.OrgID, inbox.ConversationID(ct.OrgID, line, ct.WaID), nil, func(cv *inbox.Conversation) error {
		if cv.Contact.Name == ct.Name && cv.Contact.Named == ct.Named {
			return store.ErrNoChange
		}
		cv.Contact.Name, cv.Contact.Named = ct.Name, ct.Named
		if ct.ProfileName != "" {
			cv.Contact.ProfileName = ct.ProfileName
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // a line the contact has no conversation on yet
	}
	if err != nil {
		return fmt.Errorf("rename conversation on %s: %w", line, err)
	}
	return nil
}

// visibleContact reads a contact u may see; one u may not is not found (as for a
// conversation of another department).
func (s *Service) visibleContact(ctx context.Context, u *inbox.User, waID string) (*inbox.Contact, error) {
	ct, err := s.st.Contact(ctx, u.OrgID, waID)
	if err != nil {
		return nil, err
	}
	if access.SeeContact(u, ct) != nil {
		return nil, &store.NotFoundError{Entity: "contact"}
	}
	return ct, nil
}

// sortCycles orders cycles by opening, then conversation.
func sortCycles(cs []inbox.Cycle) {
	sort.SliceStable(cs, func(i, j int) bool {
		if !cs[i].OpenedAt.Equal(cs[j].OpenedAt) {
			return cs[i].OpenedAt.Before(cs[j].OpenedAt)
		}
		return cs[i].ConversationID < cs[j].ConversationID
	})
}

// contactState is what the audit keeps of a contact before and after an edit.
type contactState struct {
	Name    string            `json:"name"`
	Named   bool              `json:"named"`
	Email   string            `json:"email,omitempty"`
	OwnerID string            `json:"owner_id,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func contactStateOf(ct *inbox.Contact) *contactState {
	return &contactState{Name: ct.Name, Named: ct.Named, Email: ct.Email, OwnerID: ct.OwnerID, Fields: ct.Fields}
}
