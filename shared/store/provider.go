package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/buzon/buzon/events"
)

// providerEventItem keeps a provider event Buzón has no entity for (yet): an item for a number
// with no line, a template status, an account notice. Nothing a provider sends is dropped.
type providerEventItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Type     string `dynamodbav:"type"`
	Kind     string `dynamodbav:"kind"`
	Received int64  `dynamodbav:"rcv"`
	Event    []byte `dynamodbav:"event"`
}

// PutUnrouted keeps an item addressed to a business number that no line claims. Items are
// spread over queueShards partitions per address and written once per event.
func (s *Store) PutUnrouted(ctx context.Context, provider events.Provider, address string, ev *events.Inbound) error {
	id := ev.DedupID()
	return s.putProviderEvent(ctx, unroutedPK(string(provider), address, id), ev, id)
}

// PutProviderEvent keeps an account-level provider event (template status, account update...).
func (s *Store) PutProviderEvent(ctx context.Context, provider events.Provider, account string, ev *events.Inbound) error {
	return s.putProviderEvent(ctx, providerEventPK(string(provider), account), ev, ev.DedupID())
}

func (s *Store) putProviderEvent(ctx context.Context, pk string, ev *events.Inbound, id string) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode provider event: %w", err)
	}
	err = s.put(ctx, providerEventItem{PK: pk, SK: providerEventSK(id), Type: "provider_event", Kind: string(ev.Kind),
		Received: ms(ev.ReceivedAt), Event: raw}, "attribute_not_exists(PK)", nil)
	if errors.Is(err, ErrExists) {
		return nil
	}
	return err
}
