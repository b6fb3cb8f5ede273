// Package quickreply renders canned responses (M5): texts with variables such as
// {{customer_name}}, {{user_name}} and {{company_name}} that an agent inserts with one click.
package quickreply

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ErrUnknownVariable reports a variable the renderer has no value for.
var ErrUnknownVariable = errors.New("quickreply: unknown variable")

// Variables known to every quick reply.
const (
	CustomerName = "customer_name"
	UserName     = "user_name"
	CompanyName  = "company_name"
)

var variable = regexp.MustCompile(`\{\{\s*([a-z][a-z0-9_]*)\s*\}\}`)

// Variables lists the variables a text uses, sorted, once each.
func Variables(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range variable.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// Validate refuses a text that uses a variable outside known.
func Validate(text string, known ...string) error {
	ok := map[string]bool{CustomerName: true, UserName: true, CompanyName: true}
	for _, k := range known {
		ok[k] = true
	}
	var bad []string
	for _, v := range Variables(text) {
		if !ok[v] {
			bad = append(bad, v)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrUnknownVariable, strings.Join(bad, ", "))
	}
	return nil
}

// Render replaces every variable with its value. A variable with an empty value renders as
// the fallback; with no fallback it disappears with the space before it ("Hola {{customer_name}},"
// becomes "Hola," for a customer whose name is unknown).
func Render(text string, values map[string]string, fallback string) (string, error) {
	text = strings.ReplaceAll(text, empty, "") // NUL has no place in a message; it is our marker
	var missing []string
	out := variable.ReplaceAllStringFunc(text, func(m string) string {
		name := variable.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		if strings.TrimSpace(v) == "" {
			if fallback != "" {
				return fallback
			}
			return empty
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: %s", ErrUnknownVariable, strings.Join(missing, ", "))
	}
	// Where a value was empty, drop the space it leaves before punctuation or another space;
	// the rest of the text (line breaks included) stays as written.
	out = emptyBeforePunct.ReplaceAllString(out, "$1")
	out = strings.ReplaceAll(out, " "+empty+" ", " ")
	return strings.ReplaceAll(out, empty, ""), nil
}

// empty marks where an empty value went, until the text is tidied.
const empty = "\x00"

var emptyBeforePunct = regexp.MustCompile(` ` + empty + `([,.!?;:])`)
