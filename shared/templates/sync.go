// Package templates keeps each organization's copy of its WhatsApp message templates in step
// with the Cloud API (M3): name, language, category, status, components and parameter format,
// read from GET /{waba-id}/message_templates for every WhatsApp Business Account (WABA) the
// organization has a Meta line on.
//
// Three things run it: the templates function on its schedule (every registered WABA), the
// API's "sync now" (one organization's WABAs), and, for status alone, the template status
// webhooks, which shared/ingest applies at once without calling the provider.
//
// Twilio lines send templates by Content SID (HX…), which Twilio's Content API manages: they
// are not synced, and their templates are sent as the agent names them.
package templates

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
)

// lister reads a WABA's templates as the provider has them now (meta.Client). It is safe for
// concurrent use; a failure means nothing was read.
type lister interface {
	Templates(ctx context.Context, waba string) ([]*inbox.Template, error)
}

// Syncer syncs templates into the store. It is safe for concurrent use; two syncs of one WABA
// at once write the same templates, and the store keeps the newest status.
type Syncer struct {
	st   *store.Store
	list lister
	now  func() time.Time
	// workers bounds the WABAs synced at once by SyncAll: the provider's rate limit is the
	// app's, shared by every organization.
	workers int
}

// New returns a Syncer reading templates through list.
func New(st *store.Store, list lister, now func() time.Time) *Syncer {
	return &Syncer{st: st, list: list, now: now, workers: 4}
}

// Result counts what a sync did.
type Result struct {
	WABAs     int `json:"wabas"`     // accounts read
	Templates int `json:"templates"` // templates the provider listed
	Changed   int `json:"changed"`   // templates written: new or different from the stored copy
	Removed   int `json:"removed"`   // stored templates the provider no longer lists, now DELETED
	Failed    int `json:"failed"`    // accounts that could not be read (the error says why)
}

func (r *Result) add(o Result) {
	r.WABAs += o.WABAs
	r.Templates += o.Templates
	r.Changed += o.Changed
	r.Removed += o.Removed
	r.Failed += o.Failed
}

// SyncAll syncs every WABA of the registry (store.RegisterWABA), each once for all the
// organizations that have lines on it. An account that fails does not stop the others; the
// error joins every failure.
func (s *Syncer) SyncAll(ctx context.Context) (Result, error) {
	regs, err := s.st.WABAs(ctx, "")
	if err != nil {
		return Result{}, err
	}
	byWABA := map[string][]string{}
	for _, r := range regs {
		byWABA[r.ID] = append(byWABA[r.ID], r.Org)
	}
	wabas := make([]string, 0, len(byWABA))
	for w := range byWABA {
		wabas = append(wabas, w)
	}
	sort.Strings(wabas)

	var (
		mu    sync.Mutex
		total Result
		errs  []error
		wg    sync.WaitGroup
	)
	work := make(chan string)
	for range min(s.workers, len(wabas)) {
		wg.Go(func() {
			for waba := range work {
				res, err := s.syncWABA(ctx, waba, byWABA[waba])
				mu.Lock()
				total.add(res)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, w := range wabas {
		work <- w
	}
	close(work)
	wg.Wait()
	return total, errors.Join(errs...)
}

// SyncOrg syncs the WABAs of org's Meta lines, registering them on the way (lines put before
// the registry existed are registered by their organization's first sync).
func (s *Syncer) SyncOrg(ctx context.Context, org string) (Result, error) {
	_, _, lines, err := s.st.OrgItems(ctx, org)
	if err != nil {
		return Result{}, err
	}
	seen := map[string]bool{}
	var total Result
	var errs []error
	for _, l := range lines {
		if l.Provider != "meta" || l.Account == "" || seen[l.Account] {
			continue
		}
		seen[l.Account] = true
		if err := s.st.RegisterWABA(ctx, org, l.Account); err != nil {
			return total, err
		}
		res, err := s.syncWABA(ctx, l.Account, []string{org})
		total.add(res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// syncWABA reads one account's templates and writes them for each of orgs: what is new or
// changed, and DELETED for what the provider no longer lists.
func (s *Syncer) syncWABA(ctx context.Context, waba string, orgs []string) (Result, error) {
	// The statuses read are at least as new as the request: a status webhook of the same
	// second wins over them (the store's rule), one of an earlier second loses.
	at := s.now().UTC().Truncate(time.Second)
	fresh, err := s.list.Templates(ctx, waba)
	if err != nil {
		return Result{WABAs: 1, Failed: 1}, fmt.Errorf("templates: %w", err)
	}
	res := Result{WABAs: 1, Templates: len(fresh)}
	for _, org := range orgs {
		r, err := s.write(ctx, org, waba, fresh, at)
		res.Changed += r.Changed
		res.Removed += r.Removed
		if err != nil {
			return res, fmt.Errorf("templates: write %s for %s: %w", waba, org, err)
		}
	}
	slog.InfoContext(ctx, "templates synced", "waba_id", waba, "organizations", len(orgs), "templates", res.Templates, "changed", res.Changed, "removed", res.Removed)
	return res, nil
}

func (s *Syncer) write(ctx context.Context, org, waba string, fresh []*inbox.Template, at time.Time) (Result, error) {
	var res Result
	stored, _, err := s.st.Templates(ctx, store.TemplateQuery{Org: org, Account: waba})
	if err != nil {
		return res, err
	}
	have := map[string]*inbox.Template{}
	for _, t := range stored {
		have[t.Name+"#"+t.Language] = t
	}
	listed := map[string]bool{}
	for _, f := range fresh {
		k := f.Name + "#" + f.Language
		if listed[k] {
			continue
		}
		listed[k] = true
		if old, ok := have[k]; ok && store.SameTemplate(old, f) {
			continue
		}
		t := *f
		t.OrgID, t.Account, t.StatusAt, t.SyncedAt = org, waba, at, at
		if err := s.st.SaveTemplate(ctx, &t); err != nil {
			return res, err
		}
		res.Changed++
	}
	for k, old := range have {
		if listed[k] || old.Status == inbox.TemplateDeleted {
			continue
		}
		gone, err := s.st.MarkTemplateDeleted(ctx, old, at)
		if err != nil {
			return res, err
		}
		if gone {
			res.Removed++
		}
	}
	return res, nil
}
