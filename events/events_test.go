package events

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRoundTrip checks that every testdata sample survives unmarshal → marshal through its Go
// type unchanged (compared as JSON values), and that it uses no key the type lacks.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v any = &Inbound{}
			switch filepath.Base(f) {
			case "send.json":
				v = &Send{}
			case "media_job.json":
				v = &MediaJob{}
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if diff := cmp.Diff(jsonValue(t, data), jsonValue(t, out)); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSamplesCoverKinds makes sure testdata holds one sample per Inbound kind.
func TestSamplesCoverKinds(t *testing.T) {
	t.Parallel()
	want := map[Kind]string{
		KindMessage:        "message.json",
		KindStatus:         "status.json",
		KindTemplateStatus: "template_status.json",
		KindOther:          "other.json",
		KindMalformed:      "malformed.json",
	}
	for kind, file := range want {
		if got := readInbound(t, file).Kind; got != kind {
			t.Errorf("%s: kind = %q, want %q", file, got, kind)
		}
	}
}

func TestFIFOIDs(t *testing.T) {
	t.Parallel()
	message := readInbound(t, "message.json")
	status := readInbound(t, "status.json")
	template := readInbound(t, "template_status.json")
	other := readInbound(t, "other.json")
	malformed := readInbound(t, "malformed.json")
	send := readSend(t)

	long := readInbound(t, "message.json")
	long.Message.Line.Address = strings.Repeat("9", 200)
	long.Message.ID = "wamid." + strings.Repeat("A", 200)
	unicode := readInbound(t, "message.json")
	unicode.Message.From = "ES.ñandú 1"
	unicode.Message.ID = "wamid. with space"

	tests := []struct {
		name         string
		group, dedup func() string
	}{
		{"message", message.GroupID, message.DedupID},
		{"status", status.GroupID, status.DedupID},
		{"template status", template.GroupID, template.DedupID},
		{"other", other.GroupID, other.DedupID},
		{"malformed", malformed.GroupID, malformed.DedupID},
		{"send", send.GroupID, send.DedupID},
		{"long ids", long.GroupID, long.DedupID},
		{"non-ASCII and spaces", unicode.GroupID, unicode.DedupID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for what, id := range map[string]func() string{"GroupID": tt.group, "DedupID": tt.dedup} {
				got := id()
				if got == "" || len(got) > 128 {
					t.Errorf("%s = %q: want 1 to 128 characters", what, got)
				}
				for _, c := range got {
					if c <= ' ' || c >= 0x7f {
						t.Errorf("%s = %q: character %q not allowed by SQS", what, got, c)
						break
					}
				}
				if again := id(); again != got {
					t.Errorf("%s not stable: %q, then %q", what, got, again)
				}
			}
		})
	}

	// Same input, same id, also from a fresh decode of the same sample.
	if a, b := message.DedupID(), readInbound(t, "message.json").DedupID(); a != b {
		t.Errorf("DedupID differs across decodes: %q, %q", a, b)
	}
	// A conversation's message and status share a group; another customer does not.
	if message.GroupID() != status.GroupID() {
		t.Errorf("message group %q != status group %q of the same conversation", message.GroupID(), status.GroupID())
	}
	stranger := readInbound(t, "status.json")
	stranger.Status.RecipientID = "34600111222"
	if stranger.GroupID() == status.GroupID() {
		t.Errorf("two customers share group %q", status.GroupID())
	}
	// Another line for the same customer is another conversation.
	otherLine := readInbound(t, "message.json")
	otherLine.Message.Line.Address = "106540352242923"
	if otherLine.GroupID() == message.GroupID() {
		t.Errorf("two lines share group %q", message.GroupID())
	}
	// Provider ids, not groups, deduplicate: each status of one message is its own event.
	read := readInbound(t, "status.json")
	read.Status.Status = "read"
	if read.DedupID() == status.DedupID() {
		t.Errorf("failed and read statuses share dedup id %q", status.DedupID())
	}
	// A retried delivery carries a new ReceivedAt and RequestID but the same dedup id.
	retry := readInbound(t, "message.json")
	retry.ReceivedAt = retry.ReceivedAt.Add(time.Hour)
	retry.RequestID = "another-request"
	if retry.DedupID() != message.DedupID() {
		t.Errorf("retry dedup id %q != %q", retry.DedupID(), message.DedupID())
	}
	// Two malformed items of one delivery are two records, not one dropped as a copy.
	sibling := readInbound(t, "malformed.json")
	sibling.Malformed.Path = "entry[0].changes[0].value.messages[2]"
	if sibling.DedupID() == malformed.DedupID() {
		t.Errorf("two malformed items share dedup id %q", malformed.DedupID())
	}
	if got, want := long.GroupID(), "h:"; !strings.HasPrefix(got, want) {
		t.Errorf("long GroupID = %q, want a hash", got)
	}
	if got := send.DedupID(); got != send.MessageID {
		t.Errorf("Send.DedupID() = %q, want the message id %q", got, send.MessageID)
	}
}

func readInbound(t *testing.T, file string) *Inbound {
	t.Helper()
	var in Inbound
	if err := json.Unmarshal(readFile(t, file), &in); err != nil {
		t.Fatal(err)
	}
	return &in
}

func readSend(t *testing.T) *Send {
	t.Helper()
	var s Send
	if err := json.Unmarshal(readFile(t, "send.json"), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonValue decodes JSON for comparison by value, keeping numbers exact.
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
