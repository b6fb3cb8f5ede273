package inbox

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Contact editing and lookup (C1). A contact's id is its WhatsApp id.

// Limits of what an agent writes on a contact.
const (
	maxContactFields = 20
	maxFieldKeyRunes = 40
	maxFieldRunes    = 200
	maxEmailBytes    = 254
)

// ErrInvalidContact is a contact edit that cannot be stored; its message says why.
var ErrInvalidContact = errors.New("invalid contact")

// InvalidContactError says what is wrong with a contact edit.
type InvalidContactError struct{ Reason string }

func (e *InvalidContactError) Error() string        { return "contact: " + e.Reason }
func (e *InvalidContactError) Is(target error) bool { return target == ErrInvalidContact }

// ContactEdit is what an agent changes on a contact; a nil field is left as it is.
type ContactEdit struct {
	// Name set to "" gives the contact its profile name back.
	Name   *string
	Email  *string
	Fields map[string]*string // a nil value removes the field
	Owner  *string
}

// ChangesOwner reports whether e sets an owner different from c's.
func (e ContactEdit) ChangesOwner(c *Contact) bool { return e.Owner != nil && *e.Owner != c.OwnerID }

// Apply changes c as e says, or leaves it unchanged and says why it cannot.
func (e ContactEdit) Apply(c *Contact) error {
	next := *c
	if e.Name != nil {
		name := ClipName(strings.TrimSpace(*e.Name))
		next.Name, next.Named = name, name != ""
		if name == "" {
			next.Name = c.ProfileName
		}
	}
	if e.Email != nil {
		email := strings.TrimSpace(*e.Email)
		if email != "" {
			if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > maxEmailBytes {
				return &InvalidContactError{"email is not an address like ana@example.com"}
			}
		}
		next.Email = email
	}
	if len(e.Fields) > 0 {
		fields := make(map[string]string, len(c.Fields)+len(e.Fields))
		for k, v := range c.Fields {
			fields[k] = v
		}
		for k, v := range e.Fields {
			k = strings.TrimSpace(k)
			if k == "" || utf8.RuneCountInString(k) > maxFieldKeyRunes {
				return &InvalidContactError{"a custom field's name has 1 to 40 characters"}
			}
			if v == nil || strings.TrimSpace(*v) == "" {
				delete(fields, k)
				continue
			}
			if utf8.RuneCountInString(*v) > maxFieldRunes {
				return &InvalidContactError{"custom field " + k + " is longer than 200 characters"}
			}
			fields[k] = strings.TrimSpace(*v)
		}
		if len(fields) > maxContactFields {
			return &InvalidContactError{"a contact has at most 20 custom fields"}
		}
		if len(fields) == 0 {
			fields = nil
		}
		next.Fields = fields
	}
	if e.Owner != nil {
		next.OwnerID = strings.TrimSpace(*e.Owner)
	}
	*c = next
	return nil
}

// ContactFilter is a contacts listing: any of a name or number query, an email, a custom
// field's value, an owner. Every given part must match.
type ContactFilter struct {
	Query      *ContactQuery
	Email      string
	Field      string
	FieldValue string
	Owner      string
}

// Empty reports whether f filters nothing.
func (f ContactFilter) Empty() bool {
	return f.Query == nil && f.Email == "" && f.Field == "" && f.Owner == ""
}

// Matches reports whether c is what f looks for.
func (f ContactFilter) Matches(c *Contact) bool {
	switch {
	case f.Query != nil && !f.Query.Matches(c),
		f.Email != "" && !strings.EqualFold(f.Email, c.Email),
		f.Field != "" && FieldTerm(f.Field, c.Fields[f.Field]) != FieldTerm(f.Field, f.FieldValue),
		f.Owner != "" && f.Owner != c.OwnerID:
		return false
	}
	return true
}

// EmailTerm is the index term of an email: the address, lower case.
func EmailTerm(email string) string { return cut(strings.ToLower(strings.TrimSpace(email))) }

// FieldTerm is the index term of a custom field's value: the field's name and its folded
// words, so "Zona: Córdoba" is found by field=Zona, value=cordoba.
func FieldTerm(field, value string) string {
	if strings.TrimSpace(value) == "" {
		return ""
	}
	return cut(strings.TrimSpace(field) + "=" + strings.Join(SearchWords(value), " "))
}
