package quickreply

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRender(t *testing.T) {
	t.Parallel()
	values := map[string]string{CustomerName: "Lucía", UserName: "Sofía", CompanyName: "Acme"}
	tests := []struct {
		name, text string
		values     map[string]string
		want       string
		err        error
	}{
		{"all three", "Hola {{customer_name}}, soy {{user_name}} de {{company_name}}.", values, "Hola Lucía, soy Sofía de Acme.", nil},
		{"spaces inside braces", "Hola {{ customer_name }}!", values, "Hola Lucía!", nil},
		{"repeated", "{{user_name}} y {{user_name}}", values, "Sofía y Sofía", nil},
		{"unknown name falls back", "Hola {{customer_name}}, ¿en qué te ayudo?", map[string]string{CustomerName: ""}, "Hola, ¿en qué te ayudo?", nil},
		{"no variables", "Gracias por escribir", values, "Gracias por escribir", nil},
		{"unknown variable", "Hola {{nickname}}", values, "", ErrUnknownVariable},
		{"line breaks kept", "Hola {{customer_name}}\n\nSaludos,\n{{user_name}}", values, "Hola Lucía\n\nSaludos,\nSofía", nil},
		{"empty in the middle", "Gracias {{customer_name}} por escribir", map[string]string{CustomerName: ""}, "Gracias por escribir", nil},
		{"not a variable", "precio {{ }} y {single}", values, "precio {{ }} y {single}", nil},
	}
	for _, tc := range tests {
		got, err := Render(tc.text, tc.values, "")
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%s: Render = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestVariablesAndValidate(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]string{"company_name", "customer_name"}, Variables("{{customer_name}} {{company_name}} {{customer_name}}")); diff != "" {
		t.Errorf("Variables (-want +got):\n%s", diff)
	}
	if err := Validate("Hola {{customer_name}}"); err != nil {
		t.Errorf("Validate known: %v", err)
	}
	if err := Validate("Hola {{order_id}}"); !errors.Is(err, ErrUnknownVariable) {
		t.Errorf("Validate unknown = %v, want ErrUnknownVariable", err)
	}
	if err := Validate("Pedido {{order_id}}", "order_id"); err != nil {
		t.Errorf("Validate with extra known: %v", err)
	}
}

func FuzzRender(f *testing.F) {
	f.Add("Hola {{customer_name}}, soy {{user_name}}")
	f.Add("{{ x }} {{")
	f.Fuzz(func(t *testing.T, text string) {
		out, err := Render(text, map[string]string{CustomerName: "Ana", UserName: "", CompanyName: "Acme"}, "")
		if err == nil && variable.MatchString(out) && !variable.MatchString(text) {
			t.Fatalf("rendering invented a variable: %q → %q", text, out)
		}
	})
}
