package inbox

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Contact search (V5). A name is folded (lower case, accents and other marks removed, so
// "Lucía Pérez" and "lucia perez" are the same) and split into words; a query matches a
// contact when each of its words begins one of the name's words, or, for a query of digits,
// when the digits begin the contact's number.

// maxNameTerms bounds the index items of one contact's name: with the phone's item, a contact
// costs at most 4 index items, which keeps a line's burst of new contacts under the hot-key
// budget (docs/keys.md).
const maxNameTerms = 3

// maxTermRunes bounds an indexed word; a longer query word is looked up by its first runes and
// checked against the whole name.
const maxTermRunes = 20

// particles are the words of Spanish and Portuguese names nobody searches by; they are matched
// when a query has them but never indexed.
var particles = map[string]bool{
	"de": true, "del": true, "la": true, "las": true, "los": true, "y": true, "e": true,
	"da": true, "das": true, "do": true, "dos": true, "di": true, "van": true, "von": true,
}

// folds maps the precomposed Latin letters customers' names use to plain ASCII.
var folds = func() map[rune]string {
	m := map[rune]string{}
	for plain, accented := range map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ďđð", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥħ",
		"i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķ", "l": "ĺļľŀł", "n": "ñńņňŉ", "o": "òóôõöøōŏő",
		"r": "ŕŗř", "s": "śŝşšș", "t": "ţťŧț", "u": "ùúûüũūŭůűų", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
		"ss": "ß", "ae": "æ", "oe": "œ", "th": "þ",
	} {
		for _, r := range accented {
			m[r] = plain
		}
	}
	return m
}()

// SearchWords folds s and splits it into words (runs of letters and digits), in order.
func SearchWords(s string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent of a decomposed letter: dropped, the letter stays
		case folds[r] != "":
			b.WriteString(folds[r])
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return words
}

// NameTerms are the words of a name the search index holds: distinct, without particles, each
// cut to maxTermRunes, at most maxNameTerms (the first ones and the last, so both the given
// name and the family name of "María José de los Ángeles Pérez" are found).
func NameTerms(name string) []string {
	var terms []string
	seen := map[string]bool{}
	for _, w := range SearchWords(name) {
		w = cut(w)
		if particles[w] || seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, w)
	}
	if len(terms) > maxNameTerms {
		terms = append(terms[:maxNameTerms-1], terms[len(terms)-1])
	}
	return terms
}

// PhoneTerm is the index term of a contact's number: its digits, or "" for an id that is not a
// number (business-scoped user ids).
func PhoneTerm(waID string) string {
	if waID == "" {
		return ""
	}
	for _, r := range waID {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return waID
}

func cut(w string) string {
	if utf8.RuneCountInString(w) <= maxTermRunes {
		return w
	}
	return string([]rune(w)[:maxTermRunes])
}

// ContactQuery is a parsed search: the digits of a number's beginning, or words of a name.
type ContactQuery struct {
	Digits string
	Words  []string
}

// ParseContactQuery reads what an agent typed: digits (with "+", spaces, dashes, dots and
// parentheses ignored) search by number, anything else by name. ok is false when nothing
// searchable is left.
func ParseContactQuery(q string) (_ ContactQuery, ok bool) {
	var digits strings.Builder
	number := true
	for _, r := range strings.TrimSpace(q) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune("+ -.()", r):
		default:
			number = false
		}
	}
	if number && digits.Len() > 0 {
		return ContactQuery{Digits: digits.String()}, true
	}
	words := SearchWords(q)
	return ContactQuery{Words: words}, len(words) > 0
}

// LookupTerm is the one term the index is read by: the digits, or the query's longest word that
// is not a particle (cut to maxTermRunes); the other words are checked by Matches.
func (q ContactQuery) LookupTerm() (term string, phone bool) {
	if q.Digits != "" {
		return q.Digits, true
	}
	for _, w := range q.Words {
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(term) && !particles[w] {
			term = w
		}
	}
	if term == "" && len(q.Words) > 0 {
		term = q.Words[0]
	}
	return cut(term), false
}

// Matches reports whether c is what q looks for. The index may hold a word of a contact's
// former name for a moment (its removal follows the rename), so every result is checked.
func (q ContactQuery) Matches(c *Contact) bool {
	if q.Digits != "" {
		return strings.HasPrefix(c.WaID, q.Digits)
	}
	words := SearchWords(c.Name)
	for _, qw := range q.Words {
		found := false
		for _, w := range words {
			if strings.HasPrefix(w, qw) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(q.Words) > 0
}
