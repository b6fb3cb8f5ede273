package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
	item, err := attributevalue.MarshalMap(orgItem{PK: orgPK(o.ID), SK: skOrg, Type: "org", ID: o.ID, Name: o.Name, Created: ms(o.CreatedAt)})
	if err != nil {
		return fmt.Errorf("encode organization: %w", err)
	}
	return s.put(ctx, item, "", indexKeys{PK: orgPK(o.ID)})
}

// PutUser creates or replaces a user, and sets their availability and capacity on their
// workload. Emails are unique across Buzón (they sign in).
func (s *Store) PutUser(ctx context.Context, u *inbox.User) error {
	it := userItem{
		PK: orgPK(u.OrgID), SK: userSK(u.ID), GSI3PK: emailKey(u.Email), GSI3SK: skEmailUser, Type: "user",
		ID: u.ID, Org: u.OrgID, Email: strings.ToLower(u.Email), Name: u.Name, Role: string(u.Role),
		Depts: u.Departments, Available: u.Available, MaxOpen: u.MaxOpen,
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode user: %w", err)
	}
	// The workload item gets the same availability and capacity (workload.go), in one transaction.
	_, err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: item}},
			{Update: s.availabilityUpdate(u.OrgID, u.ID, u.Available, u.MaxOpen)},
		},
	})
	if err != nil {
		return fmt.Errorf("put user %s: %w", u.ID, err)
	}
	s.count(indexKeys{}, indexKeys{PK: it.PK, GSI3: it.GSI3PK}, nil)
	s.count(indexKeys{}, indexKeys{PK: workloadPK(u.OrgID, u.ID)}, nil)
	return nil
}

func (it *userItem) user() *inbox.User {
	return &inbox.User{ID: it.ID, OrgID: it.Org, Email: it.Email, Name: it.Name, Role: inbox.Role(it.Role),
		Departments: it.Depts, Available: it.Available, MaxOpen: it.MaxOpen}
}

// User reads a user of org.
func (s *Store) User(ctx context.Context, org, id string) (*inbox.User, error) {
	raw, err := s.get(ctx, orgPK(org), userSK(id))
	if err != nil {
		return nil, err
	}
	var it userItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	return it.user(), nil
}

// UserByEmail finds a user by email, in any organization.
func (s *Store) UserByEmail(ctx context.Context, email string) (*inbox.User, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(IndexLookup),
		KeyConditionExpression: aws.String("GSI3PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: emailKey(email)},
		},
		Limit: aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("find user by email: %w", err)
	}
	if len(out.Items) == 0 {
		return nil, notFound("user")
	}
	var it userItem
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	return it.user(), nil
}

// PutDepartment creates or replaces a department.
func (s *Store) PutDepartment(ctx context.Context, d *inbox.Department) error {
	item, err := attributevalue.MarshalMap(deptItem{PK: orgPK(d.OrgID), SK: deptSK(d.ID), Type: "dept", ID: d.ID, Org: d.OrgID, Name: d.Name})
	if err != nil {
		return fmt.Errorf("encode department: %w", err)
	}
	return s.put(ctx, item, "", indexKeys{PK: orgPK(d.OrgID)})
}

// Department reads one department of org.
func (s *Store) Department(ctx context.Context, org, id string) (*inbox.Department, error) {
	raw, err := s.get(ctx, orgPK(org), deptSK(id))
	if err != nil {
		return nil, err
	}
	var it deptItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode department: %w", err)
	}
	return &inbox.Department{ID: it.ID, OrgID: it.Org, Name: it.Name}, nil
}

// PutLine creates or replaces a line and its address route. An address already routed to
// another line is ErrExists: one business number belongs to one line.
func (s *Store) PutLine(ctx context.Context, l *inbox.Line) error {
	addr, err := attributevalue.MarshalMap(addrItem{PK: lineAddrPK(l.Provider, l.Address), SK: skAddr, Type: "addr", Org: l.OrgID, Line: l.ID})
	if err != nil {
		return fmt.Errorf("encode line address: %w", err)
	}
	err = s.put(ctx, addr, "attribute_not_exists(PK) OR (org = :o AND line = :l)", indexKeys{PK: lineAddrPK(l.Provider, l.Address)},
		map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: l.OrgID}, ":l": &types.AttributeValueMemberS{Value: l.ID}})
	if errors.Is(err, ErrExists) {
		return fmt.Errorf("line address %s %s: %w", l.Provider, l.Address, ErrExists)
	}
	if err != nil {
		return err
	}
	it := lineItem{
		PK: orgPK(l.OrgID), SK: lineSK(l.ID), Type: "line", ID: l.ID, Org: l.OrgID, Provider: l.Provider,
		Address: l.Address, Display: l.Display, Account: l.Account, Dept: l.DepartmentID,
		Authorized: l.Authorized, State: string(l.State), Created: ms(l.CreatedAt),
	}
	if it.Hours, it.AutoReplies, err = encodeLineSettings(l); err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode line: %w", err)
	}
	if err := s.put(ctx, item, "", indexKeys{PK: it.PK}); err != nil {
		return err
	}
	// The template sync and the template status webhooks find the line's account here.
	if l.Provider == "meta" && l.Account != "" {
		return s.RegisterWABA(ctx, l.OrgID, l.Account)
	}
	return nil
}

func (it *lineItem) line() *inbox.Line {
	l := &inbox.Line{ID: it.ID, OrgID: it.Org, Provider: it.Provider, Address: it.Address, Display: it.Display,
		Account: it.Account, DepartmentID: it.Dept, Authorized: it.Authorized, State: inbox.LineState(it.State),
		CreatedAt: fromMS(it.Created)}
	l.Hours, l.AutoReplies = decodeLineSettings(it.Hours, it.AutoReplies)
	return l
}

// Line reads a line of org.
func (s *Store) Line(ctx context.Context, org, id string) (*inbox.Line, error) {
	raw, err := s.get(ctx, orgPK(org), lineSK(id))
	if err != nil {
		return nil, err
	}
	var it lineItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode line: %w", err)
	}
	return it.line(), nil
}

// LineByAddress finds the line a provider address belongs to.
func (s *Store) LineByAddress(ctx context.Context, provider, address string) (*inbox.Line, error) {
	raw, err := s.get(ctx, lineAddrPK(provider, address), skAddr)
	if err != nil {
		return nil, err
	}
	var a addrItem
	if err := attributevalue.UnmarshalMap(raw, &a); err != nil {
		return nil, fmt.Errorf("decode line address: %w", err)
	}
	return s.Line(ctx, a.Org, a.Line)
}

// OrgItems lists an organization's users, departments and lines (a few hundred items).
func (s *Store) OrgItems(ctx context.Context, org string) (users []*inbox.User, depts []*inbox.Department, lines []*inbox.Line, err error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: orgPK(org)},
		},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("query organization %s: %w", org, err)
		}
		for _, raw := range out.Items {
			t, _ := raw["type"].(*types.AttributeValueMemberS)
			if t == nil {
				continue
			}
			switch t.Value {
			case "user":
				var it userItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, nil, nil, fmt.Errorf("decode user: %w", err)
				}
				users = append(users, it.user())
			case "dept":
				var it deptItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, nil, nil, fmt.Errorf("decode department: %w", err)
				}
				depts = append(depts, &inbox.Department{ID: it.ID, OrgID: it.Org, Name: it.Name})
			case "line":
				var it lineItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, nil, nil, fmt.Errorf("decode line: %w", err)
				}
				lines = append(lines, it.line())
			}
		}
	}
	return users, depts, lines, nil
}

// Organization reads an organization.
func (s *Store) Organization(ctx context.Context, id string) (*inbox.Organization, error) {
	raw, err := s.get(ctx, orgPK(id), skOrg)
	if err != nil {
		return nil, err
	}
	var it orgItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return nil, fmt.Errorf("decode organization: %w", err)
	}
	return &inbox.Organization{ID: it.ID, Name: it.Name, CreatedAt: fromMS(it.Created)}, nil
}
