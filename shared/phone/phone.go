// Package phone normalizes phone numbers to the canonical WhatsApp id (E.164 digits without
// "+"), so one customer is one contact however the number was typed or reported, including the
// known country quirks: Mexico's mobile "1" after +52 and Brazil's ninth mobile digit.
package phone

import (
	"errors"
	"strings"
)

// ErrInvalid reports a string that is not a phone number in international form.
var ErrInvalid = errors.New("phone: not an international phone number")

// Normalize returns the canonical digits of an international number. It accepts "+", spaces,
// dots, dashes, parentheses and a "whatsapp:" prefix; it needs the country code.
//   - Mexico: +52 1 XX XXXX XXXX (the old mobile prefix) → +52 XX XXXX XXXX.
//   - Brazil: +55 DD XXXX XXXX with a mobile first digit (6-9) → +55 DD 9XXXX XXXX.
func Normalize(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "whatsapp:")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return "", ErrInvalid
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "00") {
		d = d[2:]
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", ErrInvalid
	}
	switch {
	case strings.HasPrefix(d, "521") && len(d) == 13:
		d = "52" + d[3:]
	case strings.HasPrefix(d, "55") && len(d) == 12 && d[4] >= '6':
		d = d[:4] + "9" + d[4:]
	}
	return d, nil
}
