package main

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/buzon/buzon/shared/inbox"
)

// contactDetailJSON is a contact as its own page shows it (C1).
type contactDetailJSON struct {
	WaID        string            `json:"wa_id"`
	Name        string            `json:"name"`
	ProfileName string            `json:"profile_name"`
	NameSet     bool              `json:"name_set"` // an agent named it: the profile name does not replace it
	Email       string            `json:"email"`
	OwnerID     *string           `json:"owner_id"`
	Fields      map[string]string `json:"fields"`
	LineIDs     []string          `json:"line_ids"`
	CreatedAt   string            `json:"created_at"`
}

// cycleJSON is one cycle of one of the contact's conversations.
type cycleJSON struct {
	ConversationID string   `json:"conversation_id"`
	LineID         string   `json:"line_id"`
	DepartmentID   *string  `json:"department_id"`
	AgentIDs       []string `json:"agent_ids"`
	OpenedAt       string   `json:"opened_at"`
	ClosedAt       *string  `json:"closed_at"`
	ClosingReason  *string  `json:"closing_reason"`
}

type contactHistoryJSON struct {
	Contact       contactDetailJSON `json:"contact"`
	Conversations []cycleJSON       `json:"conversations"`
}

func toContactJSON(ct *inbox.Contact) contactDetailJSON {
	fields := ct.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return contactDetailJSON{WaID: ct.WaID, Name: ct.Name, ProfileName: ct.ProfileName, NameSet: ct.Named, Email: ct.Email,
		OwnerID: optional(ct.OwnerID), Fields: fields, LineIDs: nonNil(ct.LineIDs), CreatedAt: ts(ct.CreatedAt)}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// listContacts serves GET /v1/contacts: contacts by name or number (q), email, a custom
// field's value (field and value) or owner (owner_id), every given one matching; a page of
// limit after cursor. Sellers list only their own contacts (and need no filter).
func (a *api) listContacts(ctx context.Context, c *call) (any, error) {
	q := c.req.QueryStringParameters
	for k := range q {
		switch k {
		case "q", "email", "field", "value", "owner_id", "limit", "cursor":
		default:
			return nil, badRequest("unknown query parameter " + strconv.Quote(k))
		}
	}
	limit, err := limitParam(q)
	if err != nil {
		return nil, err
	}
	cursor, err := decodeCursor(q["cursor"])
	if err != nil {
		return nil, err
	}
	f := inbox.ContactFilter{Email: strings.TrimSpace(q["email"]), Field: strings.TrimSpace(q["field"]), FieldValue: q["value"], Owner: q["owner_id"]}
	if s, ok := q["q"]; ok {
		query, ok := inbox.ParseContactQuery(s)
		if !ok || utf8.RuneCountInString(s) > 100 {
			return nil, badRequest("q needs a letter or a digit, and at most 100 characters")
		}
		f.Query = &query
	}
	if (f.Field == "") != (strings.TrimSpace(f.FieldValue) == "") {
		return nil, badRequest("field and value go together: the custom field's name and the value looked for")
	}
	found, next, err := a.flow().FindContacts(ctx, c.caller(), f, limit, cursor)
	if err != nil {
		return nil, err
	}
	return pageOf(found, next, toContactJSON), nil
}

// getContact serves GET /v1/contacts/{id}: the contact and every cycle of its conversations,
// oldest first.
func (a *api) getContact(ctx context.Context, c *call) (any, error) {
	ct, cycles, err := a.flow().ContactHistory(ctx, c.caller(), c.params["id"])
	if err != nil {
		return nil, err
	}
	out := contactHistoryJSON{Contact: toContactJSON(ct), Conversations: []cycleJSON{}}
	for _, cy := range cycles {
		j := cycleJSON{ConversationID: cy.ConversationID, LineID: cy.LineID, DepartmentID: optional(cy.DepartmentID),
			AgentIDs: nonNil(cy.Agents), OpenedAt: ts(cy.OpenedAt), ClosingReason: optional(cy.CloseReason)}
		if !cy.ClosedAt.IsZero() {
			j.ClosedAt = optional(ts(cy.ClosedAt))
		}
		out.Conversations = append(out.Conversations, j)
	}
	return out, nil
}

// patchContact serves PATCH /v1/contacts/{id}: name ("" gives back the profile name), email,
// custom fields (null removes one) and owner_id (admins only; "" for none).
func (a *api) patchContact(ctx context.Context, c *call) (any, error) {
	var body struct {
		Name    *string            `json:"name"`
		Email   *string            `json:"email"`
		Fields  map[string]*string `json:"fields"`
		OwnerID *string            `json:"owner_id"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	ct, err := a.flow().EditContact(ctx, c.caller(), c.params["id"],
		inbox.ContactEdit{Name: body.Name, Email: body.Email, Fields: body.Fields, Owner: body.OwnerID})
	if err != nil {
		return nil, err
	}
	return toContactJSON(ct), nil
}
