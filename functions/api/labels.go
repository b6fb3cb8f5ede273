package main

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/store"
	"github.com/buzon/buzon/shared/workflow"
)

// Labels (A9): an organization's tags for conversations, created inline by admins and agents,
// put on and taken off conversations by anyone who sees them, and used as a view filter
// (label_id, V5).

type labelJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Color       string `json:"color"`
}

func toLabelJSON(l *inbox.Label) labelJSON {
	return labelJSON{ID: l.ID, Name: l.Name, Description: l.Description, Color: l.Color}
}

func (a *api) listLabels(ctx context.Context, c *call) (any, error) {
	labels, err := a.st.Labels(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	sort.Slice(labels, func(i, j int) bool { return strings.ToLower(labels[i].Name) < strings.ToLower(labels[j].Name) })
	items := []labelJSON{}
	for _, l := range labels {
		items = append(items, toLabelJSON(l))
	}
	return page[labelJSON]{Items: items}, nil
}

func (a *api) createLabel(ctx context.Context, c *call) (any, error) {
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Color       string `json:"color"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	l, err := inbox.NewLabel(c.user.OrgID, body.Name, body.Description, body.Color, c.user.ID, a.now())
	if err != nil {
		return nil, unprocessable("bad_label", "name is required (1 to 50 characters, with a letter or digit); description is at most 200 characters; color is #RRGGBB")
	}
	labels, err := a.st.Labels(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	if other := sameName(labels, l.Name, ""); other != nil && other.ID != l.ID {
		return nil, &apiError{http.StatusConflict, "label_exists", "a label with that name exists: " + other.ID}
	}
	err = a.configure(ctx, c, workflow.Change{Entity: "label", ID: l.ID, Action: "create", After: toLabelJSON(l)}, func() error {
		return a.st.CreateLabel(ctx, l)
	})
	if errors.Is(err, store.ErrExists) {
		return nil, &apiError{http.StatusConflict, "label_exists", "a label with that name exists: " + l.ID}
	} else if err != nil {
		return nil, err
	}
	return toLabelJSON(l), nil
}

// labelConversation adds and removes labels of a conversation (workflow.Label), which
// records a "labelled" event with what changed.
func (a *api) labelConversation(ctx context.Context, c *call) (any, error) {
	var body struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	if len(body.Add)+len(body.Remove) == 0 {
		return nil, unprocessable("bad_labels", "give label ids in add or remove")
	}
	if len(body.Add)+len(body.Remove) > 2*inbox.MaxConversationLabels {
		return nil, unprocessable("bad_labels", "too many label ids in one request")
	}
	labels, err := a.st.Labels(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, l := range labels {
		known[l.ID] = true
	}
	adding := map[string]bool{}
	for _, id := range body.Add {
		if !known[id] {
			return nil, unprocessable("unknown_label", "no label "+id+" in this organization")
		}
		adding[id] = true
	}
	for _, id := range body.Remove {
		if adding[id] {
			return nil, unprocessable("bad_labels", "label "+id+" is both added and removed")
		}
		// Removing a label that no longer exists is allowed: it cleans the conversation.
	}
	cv, err := a.flow().Label(ctx, c.caller(), c.params["id"], body.Add, body.Remove)
	return a.acted(ctx, c, cv, err)
}

// sameName finds a label of labels, other than except, whose name folds like name (a label
// renamed keeps its id, so the id alone does not tell).
func sameName(labels []*inbox.Label, name, except string) *inbox.Label {
	id := inbox.LabelID(name)
	for _, l := range labels {
		if l.ID != except && (l.ID == id || inbox.LabelID(l.Name) == id) {
			return l
		}
	}
	return nil
}

// updateLabel serves PATCH /v1/labels/{id}: an admin renames a label, or changes its
// description or color. Its id stays, so conversations keep it.
func (a *api) updateLabel(ctx context.Context, c *call) (any, error) {
	var body struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
		Color       *string `json:"color"`
	}
	if err := decode(c.req, &body); err != nil {
		return nil, err
	}
	l, err := a.st.Label(ctx, c.user.OrgID, c.params["id"])
	if err != nil {
		return nil, err
	}
	name, desc, color := l.Name, l.Description, l.Color
	if body.Name != nil {
		name = *body.Name
	}
	if body.Description != nil {
		desc = *body.Description
	}
	if body.Color != nil {
		color = *body.Color
	}
	edited, err := inbox.NewLabel(l.OrgID, name, desc, color, l.CreatedBy, l.CreatedAt)
	if err != nil || color == "" {
		return nil, unprocessable("bad_label", "name is 1 to 50 characters, with a letter or digit; description is at most 200 characters; color is #RRGGBB")
	}
	labels, err := a.st.Labels(ctx, c.user.OrgID)
	if err != nil {
		return nil, err
	}
	if other := sameName(labels, edited.Name, l.ID); other != nil {
		return nil, &apiError{http.StatusConflict, "label_exists", "a label with that name exists: " + other.ID}
	}
	edited.ID = l.ID
	if err := a.flow().EditLabel(ctx, c.caller(), edited); err != nil {
		return nil, err
	}
	return toLabelJSON(edited), nil
}

// deleteLabel serves DELETE /v1/labels/{id}: the label goes from the list and the filters;
// conversations that carry its id keep it until they are relabelled (clients show the labels
// that exist), since labels have no index entries to find those conversations by.
func (a *api) deleteLabel(ctx context.Context, c *call) (any, error) {
	if err := decode(c.req, &struct{}{}); err != nil {
		return nil, err
	}
	return nil, a.flow().DeleteLabel(ctx, c.caller(), c.params["id"])
}
