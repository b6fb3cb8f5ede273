// Package hours answers business-hours questions for a line (R2): is it open at t, and how much
// business time lies between two instants (for first-response and resolution metrics). Hours
// are wall-clock ranges per weekday in an IANA time zone (several per day for split shifts),
// with holidays and closed days; daylight-saving changes are handled by building each range's
// instants in the zone, so a range that spans a change lasts what the clock says.
package hours

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Lambda's provided.al2023 image has no zoneinfo: embed it
)

// ErrInvalid reports a schedule that cannot be used as it is.
var ErrInvalid = errors.New("hours: invalid schedule")

// Range is a wall-clock span of one day, in minutes from midnight; End may be 24*60.
type Range struct{ Start, End int }

// Schedule is a line's business hours.
type Schedule struct {
	loc      *time.Location
	week     [7][]Range // by time.Weekday
	holidays map[string]bool
}

// Spec is the stored form of a schedule: {"time_zone":"America/Argentina/Buenos_Aires",
// "weekly":{"mon":["09:00-13:00","14:00-18:00"],...},"holidays":["2026-12-25"]}. A weekday
// with no ranges is closed.
type Spec struct {
	TimeZone string              `json:"time_zone"`
	Weekly   map[string][]string `json:"weekly"`
	Holidays []string            `json:"holidays,omitempty"`
}

var days = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// New checks a spec and returns its schedule.
func New(s Spec) (*Schedule, error) {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		return nil, fmt.Errorf("%w: unknown time zone %q", ErrInvalid, s.TimeZone)
	}
	sch := &Schedule{loc: loc, holidays: map[string]bool{}}
	for day, ranges := range s.Weekly {
		wd, ok := days[strings.ToLower(day)]
		if !ok {
			return nil, fmt.Errorf("%w: unknown weekday %q (use sun..sat)", ErrInvalid, day)
		}
		for _, r := range ranges {
			rg, err := parseRange(r)
			if err != nil {
				return nil, fmt.Errorf("%w: %s %q: %v", ErrInvalid, day, r, err)
			}
			sch.week[wd] = append(sch.week[wd], rg)
		}
		l := sch.week[wd]
		sort.Slice(l, func(i, j int) bool { return l[i].Start < l[j].Start })
		for i := 1; i < len(l); i++ {
			if l[i].Start < l[i-1].End {
				return nil, fmt.Errorf("%w: %s: ranges overlap", ErrInvalid, day)
			}
		}
	}
	for _, h := range s.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return nil, fmt.Errorf("%w: holiday %q is not YYYY-MM-DD", ErrInvalid, h)
		}
		sch.holidays[h] = true
	}
	return sch, nil
}

func parseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, errors.New("want HH:MM-HH:MM")
	}
	start, err := clock(a)
	if err != nil {
		return Range{}, err
	}
	end, err := clock(b)
	if err != nil {
		return Range{}, err
	}
	if end <= start {
		return Range{}, errors.New("end must be after start")
	}
	return Range{start, end}, nil
}

func clock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return hh*60 + mm, nil
}

// spans returns the business intervals of the local day y-mo-d.
func (s *Schedule) spans(y int, mo time.Month, d int) [][2]time.Time {
	date := time.Date(y, mo, d, 12, 0, 0, 0, s.loc)
	if s.holidays[date.Format(time.DateOnly)] {
		return nil
	}
	var out [][2]time.Time
	for _, r := range s.week[date.Weekday()] {
		start := time.Date(y, mo, d, r.Start/60, r.Start%60, 0, 0, s.loc)
		end := time.Date(y, mo, d, r.End/60, r.End%60, 0, 0, s.loc)
		if end.After(start) {
			out = append(out, [2]time.Time{start, end})
		}
	}
	return out
}

// Open reports whether t falls within business hours.
func (s *Schedule) Open(t time.Time) bool {
	l := t.In(s.loc)
	for _, sp := range s.spans(l.Year(), l.Month(), l.Day()) {
		if !t.Before(sp[0]) && t.Before(sp[1]) {
			return true
		}
	}
	return false
}

// maxDays bounds BusinessTime's walk (ten years).
const maxDays = 3660

// BusinessTime is the business time between t1 and t2 (zero if t2 is not after t1). Spans
// longer than ten years are cut there.
func (s *Schedule) BusinessTime(t1, t2 time.Time) time.Duration {
	if !t2.After(t1) {
		return 0
	}
	var total time.Duration
	l := t1.In(s.loc)
	y, mo, d := l.Year(), l.Month(), l.Day()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, mo, d+i, 0, 0, 0, 0, s.loc)
		if day.After(t2) {
			break
		}
		for _, sp := range s.spans(day.Year(), day.Month(), day.Day()) {
			a, b := sp[0], sp[1]
			if a.Before(t1) {
				a = t1
			}
			if b.After(t2) {
				b = t2
			}
			if b.After(a) {
				total += b.Sub(a)
			}
		}
	}
	return total
}
