package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/buzon/buzon/shared/inbox"
	"github.com/buzon/buzon/shared/meta"
)

// TestReferralOpensTheFreeEntryWindow: a conversation that starts from a click-to-WhatsApp ad
// (a Cloud API message with a referral) gets the 72-hour entry window; later messages without
// one do not shorten it, and the window index files it under its real close.
func TestReferralOpensTheFreeEntryWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	at := t0.Add(-time.Hour)
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"waba","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},
		"contacts":[{"profile":{"name":"Ana"},"wa_id":"819012345678"}],
		"messages":[{"from":"819012345678","id":"wamid.ad1","timestamp":"%d","type":"text","text":{"body":"I saw your ad"},
			"referral":{"source_url":"https://fb.me/3cr4Wqqkv","source_id":"1202","source_type":"ad","ctwa_clid":"ARAk"}}]}}]}]}`,
		f.meta.Address, at.Unix())
	evs, err := meta.Parse([]byte(body), at)
	if err != nil || len(evs) != 1 || evs[0].Message == nil || evs[0].Message.Referral == nil {
		t.Fatalf("parse: %v, %+v; want one message with its referral", err, evs)
	}
	f.apply(t, &evs[0])
	c := f.conv(t, f.meta, "819012345678")
	if want := at.Add(inbox.ReferralWindow); !c.WindowExpiresAt.Equal(want) || !c.WindowOpenedAt.Equal(at) {
		t.Fatalf("window %s (opened %s), want 72 h: %s (opened %s)", c.WindowExpiresAt, c.WindowOpenedAt, want, at)
	}
	// A plain message two hours later would close at +26 h: the entry window stays.
	f.apply(t, f.msg("wamid.ad2", "819012345678", at.Add(2*time.Hour), "¿precio?"))
	c = f.conv(t, f.meta, "819012345678")
	if want := at.Add(inbox.ReferralWindow); !c.WindowExpiresAt.Equal(want) || !c.WindowOpenedAt.Equal(at) {
		t.Errorf("after a plain message: window %s (opened %s), want %s (opened %s)", c.WindowExpiresAt, c.WindowOpenedAt, want, at)
	}
	if !c.WindowOpen(at.Add(71*time.Hour)) || c.WindowOpen(at.Add(72*time.Hour)) {
		t.Errorf("window open at +71 h = %v, at +72 h = %v; want open, then closed", c.WindowOpen(at.Add(71*time.Hour)), c.WindowOpen(at.Add(72*time.Hour)))
	}
	// Without a referral, the usual 24 hours.
	f.apply(t, f.msg("wamid.plain", "5491100000001", at, "hola"))
	if c := f.conv(t, f.meta, "5491100000001"); !c.WindowExpiresAt.Equal(at.Add(inbox.ServiceWindow)) {
		t.Errorf("plain conversation: window %s, want %s", c.WindowExpiresAt, at.Add(inbox.ServiceWindow))
	}
}
