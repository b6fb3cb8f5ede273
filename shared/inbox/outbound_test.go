package inbox

import (
	"errors"
	"testing"
	"time"
)

func TestTemplateValidateAndText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tpl     TemplateRef
		wantErr bool
		text    string
	}{
		{name: "no variables", tpl: TemplateRef{Name: "hello", Language: "es"}, text: "[template: hello]"},
		{name: "positional in order", tpl: TemplateRef{Name: "order", Language: "es", Variables: map[string]string{"2": "#123", "1": "Ana", "10": "x", "3": "a", "4": "b", "5": "c", "6": "d", "7": "e", "8": "f", "9": "g"}},
			text: "[template: order] Ana, #123, a, b, c, d, e, f, g, x"},
		{name: "named alphabetical", tpl: TemplateRef{Name: "n", Language: "es", Variables: map[string]string{"order_id": "7", "customer_name": "Ana"}}, text: "[template: n] Ana, 7"},
		{name: "gap", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"1": "a", "3": "c"}}, wantErr: true},
		{name: "zero", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"0": "a"}}, wantErr: true},
		{name: "leading zero", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"01": "a"}}, wantErr: true},
		{name: "mixed", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"1": "a", "name": "b"}}, wantErr: true},
		{name: "empty value", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"1": " "}}, wantErr: true},
		{name: "bad name", tpl: TemplateRef{Name: "o", Language: "es", Variables: map[string]string{"Customer Name": "x"}}, wantErr: true},
		{name: "no name", tpl: TemplateRef{Language: "es"}, wantErr: true},
		{name: "no language", tpl: TemplateRef{Name: "x"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.tpl.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadTemplate) {
					t.Errorf("Validate() = %v, want ErrBadTemplate", err)
				}
				return
			}
			if got := tc.tpl.Text(); got != tc.text {
				t.Errorf("Text() = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestCheckSend(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := &Conversation{WindowExpiresAt: t0.Add(ServiceWindow)}
	tests := []struct {
		name     string
		at       time.Time
		template bool
		want     error
	}{
		{"inside, text", t0.Add(time.Hour), false, nil},
		{"at expiry, text", t0.Add(ServiceWindow), false, ErrWindowClosed},
		{"outside, text", t0.Add(25 * time.Hour), false, ErrWindowClosed},
		{"outside, template", t0.Add(25 * time.Hour), true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := c.CheckSend(tc.at, tc.template); !errors.Is(err, tc.want) {
				t.Errorf("CheckSend = %v, want %v", err, tc.want)
			}
		})
	}
}
