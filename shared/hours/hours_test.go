package hours

import (
	"errors"
	"testing"
	"time"
)

func mustNew(t *testing.T, s Spec) *Schedule {
	t.Helper()
	sch, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpen(t *testing.T) {
	t.Parallel()
	const ba = "America/Argentina/Buenos_Aires"
	sch := mustNew(t, Spec{TimeZone: ba, Weekly: map[string][]string{
		"mon": {"09:00-13:00", "14:00-18:00"}, "tue": {"09:00-18:00"}, "sat": {"10:00-24:00"},
	}, Holidays: []string{"2026-11-24"}})
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"monday morning", at(t, ba, "2026-11-23 09:00"), true},
		{"lunch break (split shift)", at(t, ba, "2026-11-23 13:30"), false},
		{"monday afternoon", at(t, ba, "2026-11-23 17:59"), true},
		{"end is exclusive", at(t, ba, "2026-11-23 18:00"), false},
		{"holiday tuesday", at(t, ba, "2026-11-24 10:00"), false},
		{"closed sunday", at(t, ba, "2026-11-22 10:00"), false},
		{"saturday until midnight", at(t, ba, "2026-11-28 23:59"), true},
		{"same instant seen from UTC", at(t, ba, "2026-11-23 10:00").UTC(), true},
		{"UTC instant outside local hours", time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), false}, // 08:00 in BA
	}
	for _, tc := range tests {
		if got := sch.Open(tc.t); got != tc.want {
			t.Errorf("%s: Open(%v) = %v, want %v", tc.name, tc.t, got, tc.want)
		}
	}
}

func TestBusinessTime(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	sch := mustNew(t, Spec{TimeZone: ny, Weekly: map[string][]string{
		"sun": {"00:00-24:00"}, "mon": {"09:00-17:00"}, "tue": {"09:00-17:00"}, "fri": {"09:00-12:00", "13:00-17:00"},
	}, Holidays: []string{"2026-12-25"}})
	tests := []struct {
		name   string
		t1, t2 time.Time
		want   time.Duration
	}{
		{"inside one range", at(t, ny, "2026-11-23 10:00"), at(t, ny, "2026-11-23 11:30"), 90 * time.Minute},
		{"overnight counts nothing outside hours", at(t, ny, "2026-11-23 16:00"), at(t, ny, "2026-11-24 10:00"), 2 * time.Hour},
		{"split shift skips lunch", at(t, ny, "2026-11-27 11:00"), at(t, ny, "2026-11-27 14:00"), 2 * time.Hour},
		{"closed days count nothing", at(t, ny, "2026-11-25 08:00"), at(t, ny, "2026-11-26 20:00"), 0},
		{"holiday friday", at(t, ny, "2026-12-25 08:00"), at(t, ny, "2026-12-25 20:00"), 0},
		{"reversed", at(t, ny, "2026-11-24 10:00"), at(t, ny, "2026-11-23 10:00"), 0},
		// DST: on 2026-03-08 New York springs forward at 02:00, so that Sunday has 23 hours.
		{"spring forward sunday", at(t, ny, "2026-03-08 00:00"), at(t, ny, "2026-03-09 00:00"), 23 * time.Hour},
		// On 2026-11-01 it falls back at 02:00: that Sunday has 25 hours.
		{"fall back sunday", at(t, ny, "2026-11-01 00:00"), at(t, ny, "2026-11-02 00:00"), 25 * time.Hour},
		{"a week", at(t, ny, "2026-11-23 00:00"), at(t, ny, "2026-11-30 00:00"), 8*time.Hour*2 + 7*time.Hour + 24*time.Hour},
	}
	for _, tc := range tests {
		if got := sch.BusinessTime(tc.t1, tc.t2); got != tc.want {
			t.Errorf("%s: BusinessTime = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	bad := []Spec{
		{TimeZone: "Mars/Olympus", Weekly: map[string][]string{"mon": {"09:00-10:00"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"funday": {"09:00-10:00"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"10:00-09:00"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:00-12:00", "11:00-13:00"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"9-10"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:00-24:30"}}},
		{TimeZone: "UTC", Holidays: []string{"25/12/2026"}},
	}
	for i, s := range bad {
		if _, err := New(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("spec %d: err = %v, want ErrInvalid", i, err)
		}
	}
}
