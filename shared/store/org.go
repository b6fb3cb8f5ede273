package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/buzon/buzon/shared/inbox"
)

type orgItem struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Type    string `dynamodbav:"type"`
	ID      string `dynamodbav:"id"`
	Name    string `dynamodbav:"name"`
	Created int64  `dynamodbav:"cat"`
}

type userItem struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	GSI3PK    string   `dynamodbav:"GSI3PK,omitempty"`
	GSI3SK    string   `dynamodbav:"GSI3SK,omitempty"`
	Type      string   `dynamodbav:"type"`
	ID        string   `dynamodbav:"id"`
	Org       string   `dynamodbav:"org"`
	Email     string   `dynamodbav:"email"`
	Name      string   `dynamodbav:"name"`
	Role      string   `dynamodbav:"role"`
	Depts     []string `dynamodbav:"depts,omitempty,stringset"`
	Available bool     `dynamodbav:"avail"`
	MaxOpen   int      `dynamodbav:"max,omitempty"`
	Disabled  bool     `dynamodbav:"dis,omitempty"`
	Deleted   bool     `dynamodbav:"del,omitempty"`
}

type deptItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	ID   string `dynamodbav:"id"`
	Org  string `dynamodbav:"org"`
	Name string `dynamodbav:"name"`
}

type lineItem struct {
	PK         string   `dynamodbav:"PK"`
	SK         string   `dynamodbav:"SK"`
	Type       string   `dynamodbav:"type"`
	ID         string   `dynamodbav:"id"`
	Org        string   `dynamodbav:"org"`
	Provider   string   `dynamodbav:"prov"`
	Address    string   `dynamodbav:"addr"`
	Display    string   `dynamodbav:"disp,omitempty"`
	Account    string   `dynamodbav:"acct,omitempty"`
	Dept       string   `dynamodbav:"dept,omitempty"`
	Authorized []string `dynamodbav:"auth,omitempty,stringset"`
	State      string   `dynamodbav:"state"`
	Created    int64    `dynamodbav:"cat"`
	// Business hours and auto-replies, as JSON (automation.go).
	Hours       string `dynamodbav:"hrs,omitempty"`
	AutoReplies string `dynamodbav:"ar,omitempty"`
	// CollabReply: collaborators reply to the customer (A7).
	CollabReply bool `dynamodbav:"crep,omitempty"`
}

// addrItem routes a provider address (Meta phone_number_id, Twilio number) to its line.
type addrItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Type string `dynamodbav:"type"`
	Org  string `dynamodbav:"org"`
	Line string `dynamodbav:"line"`
}

// PutOrganization creates or replaces an organization.
func (s *Store) PutOrganization(ctx context.Context, o *inbox.Organization) error {
	return s.put(ctx, orgItem{PK: orgPK(o.ID), SK: skOrg, Type: "org", ID: o.ID, Name: o.Name, Created: ms(o.CreatedAt)}, "", nil)
}

// Organization reads an organization.
func (s *Store) Organization(ctx context.Context, id string) (*inbox.Organization, error) {
	it, err := getItem[orgItem](ctx, s, orgPK(id), skOrg)
	if err != nil {
		return nil, err
	}
	return &inbox.Organization{ID: it.ID, Name: it.Name, CreatedAt: fromMS(it.Created)}, nil
}

// PutUser creates or replaces a user, and sets their availability and capacity on their
// workload. Emails are unique across Buzón (they sign in).
func (s *Store) PutUser(ctx context.Context, u *inbox.User) error {
	t := s.txn()
	if err := t.put(toUserItem(u), indexKeys{}, "", nil); err != nil {
		return err
	}
	// The workload item gets the same availability and capacity (workload.go), in one transaction.
	t.setAvailability(u.OrgID, u.ID, u.Available, u.MaxOpen)
	if err := s.commit(ctx, t, 5); err != nil {
		return fmt.Errorf("put user %s: %w", u.ID, err)
	}
	return nil
}

func (it *deptItem) department() *inbox.Department {
	return &inbox.Department{ID: it.ID, OrgID: it.Org, Name: it.Name}
}

func toUserItem(u *inbox.User) userItem {
	it := userItem{
		PK: orgPK(u.OrgID), SK: userSK(u.ID), GSI3PK: emailKey(u.Email), GSI3SK: skEmailUser, Type: "user",
		ID: u.ID, Org: u.OrgID, Email: strings.ToLower(u.Email), Name: u.Name, Role: string(u.Role),
		Depts: u.Departments, Available: u.Available, MaxOpen: u.MaxOpen, Disabled: u.Disabled, Deleted: u.Deleted,
	}
	if u.Deleted {
		it.GSI3PK, it.GSI3SK = "", "" // its email signs nobody in and may be given to a new user
	}
	return it
}

func (it *userItem) user() *inbox.User {
	return &inbox.User{ID: it.ID, OrgID: it.Org, Email: it.Email, Name: it.Name, Role: inbox.Role(it.Role),
		Departments: it.Depts, Available: it.Available, MaxOpen: it.MaxOpen, Disabled: it.Disabled, Deleted: it.Deleted}
}

// User reads a user of org.
func (s *Store) User(ctx context.Context, org, id string) (*inbox.User, error) {
	it, err := getItem[userItem](ctx, s, orgPK(org), userSK(id))
	if err != nil {
		return nil, err
	}
	return it.user(), nil
}

// UserByEmail finds a user by email, in any organization.
func (s *Store) UserByEmail(ctx context.Context, email string) (*inbox.User, error) {
	in := s.partition(IndexLookup, emailKey(email), "")
	in.Limit = aws.Int32(1)
	items, _, err := query[userItem](ctx, s, in, onePage)
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	if len(items) == 0 {
		return nil, notFound("user")
	}
	return items[0].user(), nil
}

// PutDepartment creates or replaces a department.
func (s *Store) PutDepartment(ctx context.Context, d *inbox.Department) error {
	return s.put(ctx, deptItem{PK: orgPK(d.OrgID), SK: deptSK(d.ID), Type: "dept", ID: d.ID, Org: d.OrgID, Name: d.Name}, "", nil)
}

// Department reads one department of org.
func (s *Store) Department(ctx context.Context, org, id string) (*inbox.Department, error) {
	it, err := getItem[deptItem](ctx, s, orgPK(org), deptSK(id))
	if err != nil {
		return nil, err
	}
	return it.department(), nil
}

// PutLine creates or replaces a line and its address route. An address already routed to
// another line is ErrExists: one business number belongs to one line.
func (s *Store) PutLine(ctx context.Context, l *inbox.Line) error {
	err := s.put(ctx, addrItem{PK: lineAddrPK(l.Provider, l.Address), SK: skAddr, Type: "addr", Org: l.OrgID, Line: l.ID},
		"attribute_not_exists(PK) OR (org = :o AND line = :l)", map[string]types.AttributeValue{":o": str(l.OrgID), ":l": str(l.ID)})
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("line address %s %s: %w", l.Provider, l.Address, ErrExists)
	}
	if err != nil {
		return err
	}
	it, err := toLineItem(l)
	if err != nil {
		return err
	}
	if err := s.put(ctx, it, "", nil); err != nil {
		return err
	}
	// The template sync and the template status webhooks find the line's account here.
	if l.Provider == "meta" && l.Account != "" {
		return s.RegisterWABA(ctx, l.OrgID, l.Account)
	}
	return nil
}

func toLineItem(l *inbox.Line) (lineItem, error) {
	it := lineItem{
		PK: orgPK(l.OrgID), SK: lineSK(l.ID), Type: "line", ID: l.ID, Org: l.OrgID, Provider: l.Provider,
		Address: l.Address, Display: l.Display, Account: l.Account, Dept: l.DepartmentID,
		Authorized: l.Authorized, State: string(l.State), Created: ms(l.CreatedAt), CollabReply: l.CollaboratorsReply,
	}
	var err error
	it.Hours, it.AutoReplies, err = encodeLineSettings(l)
	return it, err
}

func (it *lineItem) line() *inbox.Line {
	l := &inbox.Line{ID: it.ID, OrgID: it.Org, Provider: it.Provider, Address: it.Address, Display: it.Display,
		Account: it.Account, DepartmentID: it.Dept, Authorized: it.Authorized, State: inbox.LineState(it.State),
		CreatedAt: fromMS(it.Created), CollaboratorsReply: it.CollabReply}
	l.Hours, l.AutoReplies = decodeLineSettings(it.Hours, it.AutoReplies)
	return l
}

// Line reads a line of org.
func (s *Store) Line(ctx context.Context, org, id string) (*inbox.Line, error) {
	it, err := getItem[lineItem](ctx, s, orgPK(org), lineSK(id))
	if err != nil {
		return nil, err
	}
	return it.line(), nil
}

// LineByAddress finds the line a provider address belongs to.
func (s *Store) LineByAddress(ctx context.Context, provider, address string) (*inbox.Line, error) {
	a, err := getItem[addrItem](ctx, s, lineAddrPK(provider, address), skAddr)
	if err != nil {
		return nil, err
	}
	return s.Line(ctx, a.Org, a.Line)
}

// OrgItems lists an organization's users (not the deleted ones), departments and lines
// (deleted ones too: their history is kept) — a few hundred items.
func (s *Store) OrgItems(ctx context.Context, org string) (users []*inbox.User, depts []*inbox.Department, lines []*inbox.Line, err error) {
	raws, _, err := s.queryRaw(ctx, s.partition("", orgPK(org), ""), nil)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, raw := range raws {
		t, _ := raw["type"].(*types.AttributeValueMemberS)
		if t == nil {
			continue
		}
		switch t.Value {
		case "user":
			it, err := decode[userItem](raw)
			if err != nil {
				return nil, nil, nil, err
			}
			if !it.Deleted { // kept for the history that names them, listed nowhere
				users = append(users, it.user())
			}
		case "dept":
			it, err := decode[deptItem](raw)
			if err != nil {
				return nil, nil, nil, err
			}
			depts = append(depts, it.department())
		case "line":
			it, err := decode[lineItem](raw)
			if err != nil {
				return nil, nil, nil, err
			}
			lines = append(lines, it.line())
		}
	}
	return users, depts, lines, nil
}

// DeleteLine marks line l deleted (its history stays, read-only) and frees its number: its
// address route and its auto-close entry go, so what the provider still delivers for the
// number is kept as unrouted and another line may take the number.
func (s *Store) DeleteLine(ctx context.Context, l *inbox.Line) error {
	deleted := *l
	deleted.State = inbox.LineDeleted
	it, err := toLineItem(&deleted)
	if err != nil {
		return err
	}
	if err := s.put(ctx, it, "", nil); err != nil {
		return err
	}
	err = s.deleteWhere(ctx, lineAddrPK(l.Provider, l.Address), skAddr, "org = :o AND line = :l",
		map[string]types.AttributeValue{":o": str(l.OrgID), ":l": str(l.ID)})
	if err != nil && !errors.Is(err, ErrNotFound) { // the number may belong to another line by now
		return err
	}
	return s.SetAutoClose(ctx, AutoClose{OrgID: l.OrgID, LineID: l.ID})
}

// DeleteDepartment removes department id of org with its assignment rules and closing
// reasons.
func (s *Store) DeleteDepartment(ctx context.Context, org, id string) error {
	for _, sk := range []string{rulesSK(string(ScopeDepartment), id), reasonsSK(id), deptSK(id)} {
		if err := s.delete(ctx, orgPK(org), sk, ""); err != nil {
			return fmt.Errorf("delete department %s: %w", id, err)
		}
	}
	return nil
}
