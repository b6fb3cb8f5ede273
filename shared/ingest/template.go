package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/buzon/buzon/events"
	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// TemplateChanged is the result of a template status that changed a stored template.
const TemplateChanged Result = "template_changed"

// template keeps a message_template_status_update as a provider event (L5) and applies its
// status at once to the template of every organization with lines on the WABA, unless a newer
// status is stored (a sync, or a later event applied first). The webhook carries no
// components: a template the organization has not synced yet is stored with its status only,
// and cannot be sent until a sync reads it.
func (p *Processor) template(ctx context.Context, ev *events.Inbound) (Result, error) {
	t := ev.Template
	if err := p.st.PutProviderEvent(ctx, ev.Provider, t.Account, ev); err != nil {
		return "", err
	}
	status, ok := inbox.TemplateStatusOf(t.Event)
	if !ok || ev.Provider != events.ProviderMeta || t.Account == "" || t.Name == "" || t.Language == "" {
		return Kept, nil
	}
	regs, err := p.st.WABAs(ctx, t.Account)
	if err != nil {
		return "", err
	}
	at := t.Timestamp
	if at.IsZero() {
		at = ev.ReceivedAt
	}
	reason := t.Reason
	if reason == "NONE" {
		reason = ""
	}
	res := Kept
	for _, r := range regs {
		applied, err := p.st.ApplyTemplateStatus(ctx, store.TemplateStatusUpdate{Org: r.Org, Account: t.Account, Name: t.Name,
			Language: t.Language, ID: t.TemplateID, Status: status, Reason: reason, At: at})
		if err != nil {
			return "", fmt.Errorf("template %s status: %w", t.Name, err)
		}
		switch {
		case applied:
			res = TemplateChanged
			slog.InfoContext(ctx, "template status", "org_id", r.Org, "waba_id", t.Account, "template", t.Name,
				"language", t.Language, "status", status)
		case res == Kept:
			res = Stale
		}
	}
	return res, nil
}
