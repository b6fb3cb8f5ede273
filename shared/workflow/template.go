package workflow

import (
	"context"
	"errors"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// renderTemplate checks a template message against the template the line's WABA has and puts
// the text the customer will read (the body, variables filled) in the draft, which the
// conversation list then previews. It runs once the request is known not to be a replay: a
// template paused since the first attempt does not refuse a retry. Twilio lines send by
// Content SID, which Buzón does not sync: their drafts are left as they are.
func (s *Service) renderTemplate(ctx context.Context, line *inbox.Line, draft *inbox.Message) error {
	ref := draft.Template
	if ref == nil || line == nil || line.Provider != "meta" {
		return nil
	}
	if line.Account == "" {
		return ErrNoTemplates
	}
	t, err := s.st.Template(ctx, line.OrgID, line.Account, ref.Name, ref.Language)
	if errors.Is(err, store.ErrNotFound) {
		return &UnknownTemplateError{Name: ref.Name, Language: ref.Language}
	}
	if err != nil {
		return err
	}
	if err := t.Check(ref); err != nil {
		return &TemplateError{Template: t, Err: err}
	}
	draft.Text = t.Render(ref)
	return nil
}
