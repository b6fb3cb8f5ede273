package events

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestFieldsNameTheirJSON walks every type an event carries: each field names its JSON key
// in a json tag, so renaming a Go field never changes what travels on a queue (events still
// in flight, or in a dead-letter queue, are read by the next version). Raw provider payloads
// (json.RawMessage) are leaves: their keys are the provider's.
func TestFieldsNameTheirJSON(t *testing.T) {
	t.Parallel()
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ == reflect.TypeFor[time.Time]() {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				t.Errorf("%s.%s: no JSON name in a json tag (the Go name would travel)", typ.Name(), f.Name)
			}
			walk(f.Type)
		}
	}
	for _, v := range []any{Inbound{}, Send{}} {
		walk(reflect.TypeOf(v))
	}
	if !seen[reflect.TypeFor[Media]()] || !seen[reflect.TypeFor[Status]()] {
		t.Fatalf("the walk missed the event's parts: %v", seen)
	}
}
