package phone

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"E.164", "+5491122334455", "5491122334455", nil},
		{"formatted", "+1 (415) 523-8886", "14155238886", nil},
		{"twilio prefix", "whatsapp:+14155238886", "14155238886", nil},
		{"00 prefix", "0044 7700 900123", "447700900123", nil},
		{"mexico old mobile", "+521 55 1234 5678", "525512345678", nil},
		{"mexico already canonical", "+52 55 1234 5678", "525512345678", nil},
		{"brazil without ninth digit", "+55 11 8765 4321", "5511987654321", nil},
		{"brazil with ninth digit", "+55 11 98765 4321", "5511987654321", nil},
		{"brazil landline stays", "+55 11 3456 7890", "551134567890", nil},
		{"letters", "+54 9 11 ABC", "", ErrInvalid},
		{"too short", "+12345", "", ErrInvalid},
		{"too long", "+1234567890123456", "", ErrInvalid},
		{"national", "011 4567 8900", "", ErrInvalid},
		{"plus inside", "54+911", "", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.in)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+5491122334455", "+521 55 1234 5678", "+55 11 8765 4321", "whatsapp:+14155238886", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Normalize(s)
		if err != nil {
			return
		}
		again, err := Normalize("+" + d)
		if err != nil || again != d {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, d, again, err)
		}
	})
}
