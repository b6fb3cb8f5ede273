package inbox

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func tpl(status, components string) *Template {
	return &Template{Name: "order_update", Language: "es_AR", Status: status, Components: json.RawMessage(components)}
}

const (
	positionalBody = `[{"type":"BODY","text":"Hola {{1}}, tu pedido {{2}} ya está en camino. Gracias, {{1}}."},{"type":"FOOTER","text":"STOP"}]`
	namedBody      = `[{"type":"HEADER","format":"TEXT","text":"¡Volviste!"},{"type":"BODY","text":"Hola {{customer_name}}, hoy {{day}}."},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Ver"}]}]`
)

func TestTemplateVariablesAndRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		components string
		vars       map[string]string
		wantVars   []string
		wantText   string
	}{
		{"positional, repeated", positionalBody, map[string]string{"1": "Lucía", "2": "#4521"}, []string{"1", "2"},
			"Hola Lucía, tu pedido #4521 ya está en camino. Gracias, Lucía."},
		{"named", namedBody, map[string]string{"customer_name": "Ana", "day": "lunes"}, []string{"customer_name", "day"}, "Hola Ana, hoy lunes."},
		{"none", `[{"type":"BODY","text":"Gracias por escribirnos."}]`, nil, nil, "Gracias por escribirnos."},
		{"ten positional sort by number", `[{"type":"BODY","text":"{{10}} {{2}} {{1}} {{3}} {{4}} {{5}} {{6}} {{7}} {{8}} {{9}}"}]`,
			map[string]string{"1": "a", "2": "b", "3": "c", "4": "d", "5": "e", "6": "f", "7": "g", "8": "h", "9": "i", "10": "j"},
			[]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, "j b a c d e f g h i"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := tpl(TemplateApproved, tt.components)
			if diff := cmp.Diff(tt.wantVars, tp.Variables()); diff != "" {
				t.Errorf("variables (-want +got):\n%s", diff)
			}
			ref := &TemplateRef{Name: tp.Name, Language: tp.Language, Variables: tt.vars}
			if err := tp.Check(ref); err != nil {
				t.Fatalf("check: %v", err)
			}
			if got := tp.Render(ref); got != tt.wantText {
				t.Errorf("render = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestTemplateCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     string
		components string
		vars       map[string]string
		want       error
		wantMsg    string
	}{
		{"approved", TemplateApproved, positionalBody, map[string]string{"1": "a", "2": "b"}, nil, ""},
		{"rejected", TemplateRejected, positionalBody, map[string]string{"1": "a", "2": "b"}, ErrTemplateNotApproved,
			"inbox: template is not approved: order_update (es_AR) is REJECTED"},
		{"paused", TemplatePaused, positionalBody, map[string]string{"1": "a", "2": "b"}, ErrTemplateNotApproved, ""},
		{"disabled", TemplateDisabled, positionalBody, map[string]string{"1": "a", "2": "b"}, ErrTemplateNotApproved, ""},
		{"pending", TemplatePending, positionalBody, map[string]string{"1": "a", "2": "b"}, ErrTemplateNotApproved, ""},
		{"known from a webhook only", TemplateApproved, "", nil, ErrTemplateNotSynced, ""},
		{"one missing", TemplateApproved, positionalBody, map[string]string{"1": "a"}, ErrTemplateVariables,
			"inbox: template variables do not match the template: order_update takes 2 variables ({{1}}, {{2}}); got 1 variable ({{1}})"},
		{"one too many", TemplateApproved, positionalBody, map[string]string{"1": "a", "2": "b", "3": "c"}, ErrTemplateVariables, ""},
		{"none given", TemplateApproved, positionalBody, nil, ErrTemplateVariables, ""},
		{"named for positional", TemplateApproved, positionalBody, map[string]string{"customer_name": "a", "day": "b"}, ErrTemplateVariables, ""},
		{"positional for named", TemplateApproved, namedBody, map[string]string{"1": "a", "2": "b"}, ErrTemplateVariables,
			"inbox: template variables do not match the template: order_update takes 2 variables ({{customer_name}}, {{day}}); got 2 variables ({{1}}, {{2}})"},
		{"wrong name", TemplateApproved, namedBody, map[string]string{"customer_name": "a", "dia": "b"}, ErrTemplateVariables, ""},
		{"variables for none", TemplateApproved, `[{"type":"BODY","text":"Hola."}]`, map[string]string{"1": "a"}, ErrTemplateVariables, ""},
		{"line break in a value", TemplateApproved, positionalBody, map[string]string{"1": "a\nb", "2": "c"}, ErrTemplateVariables, ""},
		{"five spaces in a value", TemplateApproved, positionalBody, map[string]string{"1": "a     b", "2": "c"}, ErrTemplateVariables, ""},
		{"image header", TemplateApproved, `[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Hola"}]`, nil, ErrTemplateUnsupported, ""},
		{"header variable", TemplateApproved, `[{"type":"HEADER","format":"TEXT","text":"Hola {{1}}"},{"type":"BODY","text":"x"}]`, nil, ErrTemplateUnsupported, ""},
		{"dynamic URL button", TemplateApproved, `[{"type":"BODY","text":"x"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver","url":"https://x.test/{{1}}"}]}]`, nil, ErrTemplateUnsupported, ""},
		{"static URL button", TemplateApproved, `[{"type":"BODY","text":"x"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver","url":"https://x.test/"}]}]`, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := tpl(tt.status, tt.components)
			if tt.components == "" {
				tp.Components = nil
			}
			err := tp.Check(&TemplateRef{Name: tp.Name, Language: tp.Language, Variables: tt.vars})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("check = %v, want %v", err, tt.want)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMsg)
			}
			if got := tp.Sendable(); got != (tt.status == TemplateApproved && tt.components != "") {
				t.Errorf("sendable = %v", got)
			}
		})
	}
}

func TestTemplateStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event, want string
		ok          bool
	}{
		{"APPROVED", TemplateApproved, true},
		{"REJECTED", TemplateRejected, true},
		{"PAUSED", TemplatePaused, true},
		{"DISABLED", TemplateDisabled, true},
		{"PENDING_DELETION", TemplatePendingDeletion, true},
		{"REINSTATED", TemplateApproved, true},
		{"approved", TemplateApproved, true},
		{"FLAGGED", "", false},
		{"UNARCHIVED", "", false},
		{"LOCKED", "", false},
		{"SOMETHING_NEW", "", false},
	}
	for _, tt := range tests {
		got, ok := TemplateStatusOf(tt.event)
		if got != tt.want || ok != tt.ok {
			t.Errorf("TemplateStatusOf(%q) = %q, %v; want %q, %v", tt.event, got, ok, tt.want, tt.ok)
		}
	}
}
