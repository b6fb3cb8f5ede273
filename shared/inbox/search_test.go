package inbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSearchWordsAndTerms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in   string
		words      []string
		nameTerms  []string
		phoneTerm  string
		phoneInput string
	}{
		{name: "accents and case", in: "Lucía Pérez", words: []string{"lucia", "perez"}, nameTerms: []string{"lucia", "perez"}},
		{name: "decomposed accents", in: "Luci\u0301a Pe\u0301rez", words: []string{"lucia", "perez"}, nameTerms: []string{"lucia", "perez"}},
		{name: "ñ, ç, ß", in: "Peña Gonçalves Straße", words: []string{"pena", "goncalves", "strasse"}, nameTerms: []string{"pena", "goncalves", "strasse"}},
		{name: "punctuation and emoji", in: "  Juan-Carlos 🚗 (taller) ", words: []string{"juan", "carlos", "taller"}, nameTerms: []string{"juan", "carlos", "taller"}},
		{name: "particles dropped, first two and last kept", in: "María José de los Ángeles Pérez",
			words: []string{"maria", "jose", "de", "los", "angeles", "perez"}, nameTerms: []string{"maria", "jose", "perez"}},
		{name: "duplicates once", in: "Ana ana ANA", words: []string{"ana", "ana", "ana"}, nameTerms: []string{"ana"}},
		{name: "long word cut", in: "Supercalifragilisticexpialidocious", words: []string{"supercalifragilisticexpialidocious"}, nameTerms: []string{"supercalifragilistic"}},
		{name: "other scripts lower-cased", in: "Дмитрий", words: []string{"дмитрий"}, nameTerms: []string{"дмитрий"}},
		{name: "nothing", in: "🙂 !!", words: nil, nameTerms: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.words, SearchWords(tc.in)); diff != "" {
				t.Errorf("SearchWords(%q) (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.nameTerms, NameTerms(tc.in)); diff != "" {
				t.Errorf("NameTerms(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	if got := PhoneTerm("5491155550001"); got != "5491155550001" {
		t.Errorf("PhoneTerm(number) = %q", got)
	}
	if got := PhoneTerm("AR.1234abcd"); got != "" {
		t.Errorf("PhoneTerm(business-scoped id) = %q, want none", got)
	}
}

func TestContactQuery(t *testing.T) {
	t.Parallel()
	lucia := &Contact{WaID: "5491155550001", Name: "Lucía Pérez"}
	tests := []struct {
		name, q string
		ok      bool
		parsed  ContactQuery
		lookup  string
		phone   bool
		matches bool
	}{
		{name: "first name prefix", q: "luc", ok: true, parsed: ContactQuery{Words: []string{"luc"}}, lookup: "luc", matches: true},
		{name: "family name prefix, accented query", q: "PÉR", ok: true, parsed: ContactQuery{Words: []string{"per"}}, lookup: "per", matches: true},
		{name: "both words, longest looked up", q: "lu perez", ok: true, parsed: ContactQuery{Words: []string{"lu", "perez"}}, lookup: "perez", matches: true},
		{name: "a word that is not there", q: "lucia gomez", ok: true, parsed: ContactQuery{Words: []string{"lucia", "gomez"}}, lookup: "lucia", matches: false},
		{name: "inside a word is not a prefix", q: "cia", ok: true, parsed: ContactQuery{Words: []string{"cia"}}, lookup: "cia", matches: false},
		{name: "phone prefix", q: "54911", ok: true, parsed: ContactQuery{Digits: "54911"}, lookup: "54911", phone: true, matches: true},
		{name: "phone with plus and spaces", q: "+54 9 11-5555", ok: true, parsed: ContactQuery{Digits: "549115555"}, lookup: "549115555", phone: true, matches: true},
		{name: "phone not a prefix", q: "1155", ok: true, parsed: ContactQuery{Digits: "1155"}, lookup: "1155", phone: true, matches: false},
		{name: "particle not looked up", q: "de perez", ok: true, parsed: ContactQuery{Words: []string{"de", "perez"}}, lookup: "perez", matches: false},
		{name: "empty", q: "  ", ok: false},
		{name: "only symbols", q: "+-()", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, ok := ParseContactQuery(tc.q)
			if ok != tc.ok {
				t.Fatalf("ParseContactQuery(%q) ok = %v, want %v", tc.q, ok, tc.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tc.parsed, q); diff != "" {
				t.Errorf("parsed (-want +got):\n%s", diff)
			}
			if term, phone := q.LookupTerm(); term != tc.lookup || phone != tc.phone {
				t.Errorf("LookupTerm = %q, %v; want %q, %v", term, phone, tc.lookup, tc.phone)
			}
			if got := q.Matches(lucia); got != tc.matches {
				t.Errorf("Matches(Lucía Pérez) = %v, want %v", got, tc.matches)
			}
		})
	}
}
