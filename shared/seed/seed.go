// Package seed loads demo organizations (departments, users, lines) from a JSON file into the
// store, for the local stack and tests. The format is documented in README.md.
package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// ErrInvalid reports a seed file that cannot be loaded as it is.
var ErrInvalid = errors.New("seed: invalid")

// File is the seed file.
type File struct {
	Organizations []Organization `json:"organizations"`
}

// Organization is one tenant of the seed.
type Organization struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Departments []Department `json:"departments"`
	Users       []User       `json:"users"`
	Lines       []Line       `json:"lines"`
}

// Department of the seed.
type Department struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// User of the seed; the id defaults to one derived from the email.
type User struct {
	ID          string   `json:"id,omitempty"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Departments []string `json:"departments"`
}

// Line of the seed: Meta by phone_number_id, Twilio by number.
type Line struct {
	ID            string `json:"id"`
	Provider      string `json:"provider"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`
	DisplayNumber string `json:"display_phone_number,omitempty"`
	WABAID        string `json:"waba_id,omitempty"`
	Number        string `json:"number,omitempty"`
	AccountSID    string `json:"account_sid,omitempty"`
	Department    string `json:"department,omitempty"`
}

// Read parses a seed file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	return &f, nil
}

// UserID is the id a seeded user gets when the seed names none.
func UserID(email string) string {
	return "u_" + strings.NewReplacer("@", "_at_", ".", "_", "+", "_").Replace(strings.ToLower(email))
}

// Load writes every organization of f into st. Loading the same file twice changes nothing.
func Load(ctx context.Context, st *store.Store, f *File, now time.Time) error {
	for _, o := range f.Organizations {
		if o.ID == "" {
			return fmt.Errorf("%w: organization without id", ErrInvalid)
		}
		if err := st.PutOrganization(ctx, &inbox.Organization{ID: o.ID, Name: o.Name, CreatedAt: now}); err != nil {
			return err
		}
		depts := map[string]bool{}
		for _, d := range o.Departments {
			depts[d.ID] = true
			if err := st.PutDepartment(ctx, &inbox.Department{ID: d.ID, OrgID: o.ID, Name: d.Name}); err != nil {
				return err
			}
		}
		for _, u := range o.Users {
			if !inbox.ValidRole(inbox.Role(u.Role)) {
				return fmt.Errorf("%w: user %s: unknown role %q", ErrInvalid, u.Email, u.Role)
			}
			for _, d := range u.Departments {
				if !depts[d] {
					return fmt.Errorf("%w: user %s: unknown department %q", ErrInvalid, u.Email, d)
				}
			}
			id := u.ID
			if id == "" {
				id = UserID(u.Email)
			}
			err := st.PutUser(ctx, &inbox.User{ID: id, OrgID: o.ID, Email: u.Email, Name: u.Name,
				Role: inbox.Role(u.Role), Departments: u.Departments, Available: true})
			if err != nil {
				return err
			}
		}
		for _, l := range o.Lines {
			line := &inbox.Line{ID: l.ID, OrgID: o.ID, Provider: l.Provider, DepartmentID: l.Department,
				State: inbox.LineActive, CreatedAt: now}
			switch l.Provider {
			case "meta":
				line.Address, line.Display, line.Account = l.PhoneNumberID, l.DisplayNumber, l.WABAID
			case "twilio":
				line.Address, line.Display, line.Account = l.Number, l.Number, l.AccountSID
			default:
				return fmt.Errorf("%w: line %s: unknown provider %q", ErrInvalid, l.ID, l.Provider)
			}
			if line.Address == "" {
				return fmt.Errorf("%w: line %s: no phone_number_id or number", ErrInvalid, l.ID)
			}
			if l.Department != "" && !depts[l.Department] {
				return fmt.Errorf("%w: line %s: unknown department %q", ErrInvalid, l.ID, l.Department)
			}
			if err := st.PutLine(ctx, line); err != nil {
				return err
			}
		}
	}
	return nil
}
