package main

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/buzon/buzon/shared/access"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// The admin API: departments, users and lines of the caller's organization. Only admins write
// them (access.ManageOrganization guards the routes).

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type departmentJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type lineJSON struct {
	ID                 string   `json:"id"`
	Provider           string   `json:"provider"`
	PhoneNumberID      string   `json:"phone_number_id,omitempty"`
	DisplayPhoneNumber string   `json:"display_phone_number,omitempty"`
	WABAID             string   `json:"waba_id,omitempty"`
	Number             string   `json:"number,omitempty"`
	AccountSID         string   `json:"account_sid,omitempty"`
	DepartmentID       *string  `json:"department_id"`
	AuthorizedUsers    []string `json:"authorized_users"`
	State              string   `json:"state"`
	CollaboratorsReply bool     `json:"collaborators_reply"`
}

func toLineJSON(l *inbox.Line) lineJSON {
	out := lineJSON{ID: l.ID, Provider: l.Provider, DepartmentID: optString(l.DepartmentID),
		AuthorizedUsers: nonNil(l.Authorized), State: string(l.State), CollaboratorsReply: l.CollaboratorsReply}
	if l.Provider == "meta" {
		out.PhoneNumberID, out.DisplayPhoneNumber, out.WABAID = l.Address, l.Display, l.Account
	} else {
		out.Number, out.AccountSID = l.Address, l.Account
	}
	return out
}

func toUserJSON(u *inbox.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Departments: nonNil(u.Departments), OrgID: u.OrgID, Disabled: u.Disabled}
}

func (a *api) listDepartments(ctx context.Context, c *call) (any, error) {
	_, depts, _, err := a.st.OrgItems(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	items := []departmentJSON{}
	for _, d := range depts {
		items = append(items, departmentJSON{ID: d.ID, Name: d.Name})
	}
	return page[departmentJSON]{Items: items}, nil
}

func (a *api) createDepartment(ctx context.Context, c *call) (any, error) {
	var body departmentJSON
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.ID == "" {
		body.ID = inbox.NewID("d_")
	}
	if !idPattern.MatchString(body.ID) || strings.TrimSpace(body.Name) == "" {
		return nil, unprocessable("bad_department", "name is required; id, if given, is 1-64 letters, digits, _ or -")
	}
	err := a.configure(ctx, c, workflow.Change{Entity: "department", ID: body.ID, Action: "create", After: body}, func() error {
		return a.st.PutDepartment(ctx, &inbox.Department{ID: body.ID, OrgID: c.user.OrgID, Name: body.Name})
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (a *api) listUsers(ctx context.Context, c *call) (any, error) {
	users, _, _, err := a.st.OrgItems(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	items := []userJSON{}
	for _, u := range users {
		items = append(items, toUserJSON(u))
	}
	return page[userJSON]{Items: items}, nil
}

// departmentsExist checks every id against the organization's departments.
func (a *api) departmentsExist(ctx context.Context, org string, ids ...string) error {
	_, depts, _, err := a.st.OrgItems(ctx, org)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, d := range depts {
		known[d.ID] = true
	}
	for _, id := range ids {
		if id != "" && !known[id] {
			return unprocessable("unknown_department", "no department "+id+" in this organization")
		}
	}
	return nil
}

func (a *api) createUser(ctx context.Context, c *call) (any, error) {
	var body struct {
		ID          string   `json:"id"`
		Email       string   `json:"email"`
		Name        string   `json:"name"`
		Role        string   `json:"role"`
		Departments []string `json:"departments"`
		MaxOpen     int      `json:"max_open"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	body.Email = strings.ToLower(strings.TrimSpace(body.Email))
	if !strings.Contains(body.Email, "@") || len(body.Email) > 254 {
		return nil, unprocessable("bad_email", "a valid email is required")
	}
	if !inbox.ValidRole(inbox.Role(body.Role)) {
		return nil, unprocessable("bad_role", "role must be admin, agent, seller or noinbox")
	}
	if body.ID == "" {
		body.ID = inbox.NewID("u_")
	}
	if !idPattern.MatchString(body.ID) || body.MaxOpen < 0 {
		return nil, unprocessable("bad_user", "id is 1-64 letters, digits, _ or -; max_open is not negative")
	}
	if err := a.departmentsExist(ctx, c.user.OrgID, body.Departments...); err != nil {
		return nil, err
	}
	if existing, err := a.st.UserByEmail(ctx, body.Email); err == nil && (existing.OrgID != c.user.OrgID || existing.ID != body.ID) {
		return nil, &apiError{http.StatusConflict, "email_taken", "a user with that email exists"}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	u := &inbox.User{ID: body.ID, OrgID: c.user.OrgID, Email: body.Email, Name: body.Name, Role: inbox.Role(body.Role),
		Departments: body.Departments, Available: true, MaxOpen: body.MaxOpen}
	err := a.configure(ctx, c, workflow.Change{Entity: "user", ID: u.ID, Action: "create", After: toUserJSON(u)}, func() error {
		return a.st.PutUser(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	return toUserJSON(u), nil
}

func (a *api) listLines(ctx context.Context, c *call) (any, error) {
	_, _, lines, err := a.st.OrgItems(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	items := []lineJSON{}
	for _, l := range lines {
		items = append(items, toLineJSON(l))
	}
	return page[lineJSON]{Items: items}, nil
}

type lineRequest struct {
	ID                 string   `json:"id"`
	Provider           string   `json:"provider"`
	PhoneNumberID      string   `json:"phone_number_id"`
	DisplayPhoneNumber string   `json:"display_phone_number"`
	WABAID             string   `json:"waba_id"`
	Number             string   `json:"number"`
	AccountSID         string   `json:"account_sid"`
	DepartmentID       string   `json:"department_id"`
	AuthorizedUsers    []string `json:"authorized_users"`
	State              string   `json:"state"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (a *api) createLine(ctx context.Context, c *call) (any, error) {
	var body lineRequest
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if body.ID == "" {
		body.ID = inbox.NewID("l_")
	}
	l := &inbox.Line{ID: body.ID, OrgID: c.user.OrgID, Provider: body.Provider, DepartmentID: body.DepartmentID,
		Authorized: body.AuthorizedUsers, State: inbox.LineActive, CreatedAt: a.now()}
	switch body.Provider {
	case "meta":
		if !regexp.MustCompile(`^[0-9]{5,32}$`).MatchString(body.PhoneNumberID) {
			return nil, unprocessable("bad_line", "a Meta line needs phone_number_id (digits)")
		}
		l.Address, l.Display, l.Account = body.PhoneNumberID, body.DisplayPhoneNumber, body.WABAID
	case "twilio":
		if !e164.MatchString(body.Number) {
			return nil, unprocessable("bad_line", "a Twilio line needs number in E.164 (+14155238886)")
		}
		l.Address, l.Display, l.Account = body.Number, body.Number, body.AccountSID
	default:
		return nil, unprocessable("bad_line", "provider must be meta or twilio")
	}
	if body.State != "" {
		l.State = inbox.LineState(body.State)
	}
	if err := validLine(l); err != nil {
		return nil, err
	}
	if err := a.departmentsExist(ctx, c.user.OrgID, body.DepartmentID); err != nil {
		return nil, err
	}
	if _, err := a.st.Line(ctx, c.user.OrgID, l.ID); err == nil {
		return nil, &apiError{http.StatusConflict, "line_exists", "a line with that id exists; PATCH it"}
	}
	err := a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "create", After: toLineJSON(l)}, func() error {
		return a.st.PutLine(ctx, l)
	})
	if errors.Is(err, store.ErrExists) {
		return nil, &apiError{http.StatusConflict, "number_taken", "that number is already connected as another line"}
	} else if err != nil {
		return nil, err
	}
	return toLineJSON(l), nil
}

func validLine(l *inbox.Line) error {
	if !idPattern.MatchString(l.ID) {
		return unprocessable("bad_line", "id is 1-64 letters, digits, _ or -")
	}
	switch l.State {
	case inbox.LineActive, inbox.LinePaused, inbox.LineError:
		return nil
	}
	return unprocessable("bad_line", "state must be active, paused or error")
}

// updateLine changes a line's route, authorized users or state. Giving a line a department
// routes the conversations it kept in the "no route" queue (L3).
func (a *api) updateLine(ctx context.Context, c *call) (any, error) {
	var body struct {
		DepartmentID    *string   `json:"department_id"`
		AuthorizedUsers *[]string `json:"authorized_users"`
		State           *string   `json:"state"`
		// CollaboratorsReply lets collaborators write to the customer (A7).
		CollaboratorsReply *bool `json:"collaborators_reply"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	l, err := a.st.Line(ctx, c.user.OrgID, c.params["id"])
	if err != nil {
		return nil, err
	}
	if err := lineWritable(l); err != nil {
		return nil, err
	}
	before := toLineJSON(l)
	if body.DepartmentID != nil {
		if err := a.departmentsExist(ctx, c.user.OrgID, *body.DepartmentID); err != nil {
			return nil, err
		}
		l.DepartmentID = *body.DepartmentID
	}
	if body.AuthorizedUsers != nil {
		l.Authorized = *body.AuthorizedUsers
	}
	if body.State != nil {
		l.State = inbox.LineState(*body.State)
	}
	if body.CollaboratorsReply != nil {
		l.CollaboratorsReply = *body.CollaboratorsReply
	}
	if err := validLine(l); err != nil {
		return nil, err
	}
	err = a.configure(ctx, c, workflow.Change{Entity: "line", ID: l.ID, Action: "update", Before: before, After: toLineJSON(l)}, func() error {
		return a.st.PutLine(ctx, l)
	})
	if err != nil {
		return nil, err
	}
	if l.DepartmentID != "" {
		if err := a.routeWaiting(ctx, c, l); err != nil {
			return nil, err
		}
		a.flow().DrainDepartment(ctx, c.caller(), c.user.OrgID, l.DepartmentID)
	}
	return toLineJSON(l), nil
}

// routeWaiting moves the line's "no route" conversations (open and done) to its department.
func (a *api) routeWaiting(ctx context.Context, c *call, l *inbox.Line) error {
	for _, status := range []inbox.ConversationStatus{inbox.StatusOpen, inbox.StatusDone} {
		cursor := ""
		for {
			convs, next, err := a.st.ListConversations(ctx, store.ListQuery{Org: l.OrgID, Status: status, LineID: l.ID,
				Sources: []store.Source{{Department: ""}, {Department: "", Assigned: true}}, Limit: 100, Cursor: cursor})
			if err != nil {
				return err
			}
			for _, cv := range convs {
				if _, err := a.flow().Route(ctx, c.caller(), cv.ID, l.ID, l.DepartmentID); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return nil
}

// setDisabled serves POST /v1/users/{id}/disable and …/enable: a disabled user's next request
// is refused, and their open conversations go back to the queue.
func (a *api) setDisabled(disabled bool) handlerFunc {
	return func(ctx context.Context, c *call) (any, error) {
		var body struct {
			// ConversationsTo is who takes the disabled user's open conversations; none:
			// their departments' queues.
			ConversationsTo string `json:"conversations_to"`
		}
		if err := decode(c.req, &body); err != nil {
			return nil, err
		}
		if !disabled && body.ConversationsTo != "" {
			return nil, badRequest("conversations_to applies to disable only")
		}
		u, err := a.flow().SetDisabled(ctx, c.caller(), c.params["id"], disabled, body.ConversationsTo)
		if err != nil {
			return nil, err
		}
		return toUserJSON(u), nil
	}
}

// colleagueJSON is what any user with an inbox sees of another: enough for a transfer picker.
type colleagueJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Available   bool     `json:"available"`
	Departments []string `json:"departments"`
}

// listColleagues serves GET /v1/colleagues: the organization's users with an inbox who are not
// disabled, with their availability and departments.
func (a *api) listColleagues(ctx context.Context, c *call) (any, error) {
	users, _, _, err := a.st.OrgItems(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	items := []colleagueJSON{}
	for _, u := range users {
		if access.HasInbox(u) && access.Enabled(u) == nil {
			items = append(items, colleagueJSON{ID: u.ID, Name: u.Name, Available: u.Available, Departments: nonNil(u.Departments)})
		}
	}
	return page[colleagueJSON]{Items: items}, nil
}
