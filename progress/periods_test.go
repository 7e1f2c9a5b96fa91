package progress

import (
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

func pd(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// periodTestSettings are the demo districts' windows with the given school year start month.
func periodTestSettings(startMonth int) observation.DistrictSettings {
	s := observation.DefaultDistrictSettings()
	s.SchoolYearStartMonth = startMonth
	s.Windows = []observation.NamedWindow{
		{Key: "baseline", Title: "Baseline (fall)", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year check-in", StartMonth: 1, StartDay: 5, EndMonth: 2, EndDay: 28},
		{Key: "end_of_year", Title: "End of year (spring)", StartMonth: 4, StartDay: 15, EndMonth: 6, EndDay: 10},
	}
	return s
}

func wantPeriod(t *testing.T, got Period, ok bool, kind PeriodKind, key string, start, end time.Time) {
	t.Helper()
	if !ok {
		t.Fatalf("got no period, want %s %s", kind, key)
	}
	if got.Kind != kind || got.Key != key || !got.Start.Equal(start) || !got.End.Equal(end) {
		t.Errorf("got %s [%s, %s), want %s:%s [%s, %s)", got, got.Start.Format(time.DateOnly), got.End.Format(time.DateOnly),
			kind, key, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	if got.Start.Location() != time.UTC || got.End.Location() != time.UTC {
		t.Errorf("%s: bounds are not UTC", got)
	}
}

func TestPeriodOfHandComputed(t *testing.T) {
	aug, jul, jan := periodTestSettings(8), periodTestSettings(7), periodTestSettings(1)
	noon := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	cases := []struct {
		name       string
		kind       PeriodKind
		t          time.Time
		s          observation.DistrictSettings
		key        string
		start, end time.Time
	}{
		// August start: 2026-01-15 is in the school year Aug 2025 - Jul 2026.
		{"aug year", PeriodSchoolYear, noon(2026, 1, 15), aug, "2025-26", pd(2025, 8, 1), pd(2026, 8, 1)},
		{"aug year first day", PeriodSchoolYear, pd(2025, 8, 1), aug, "2025-26", pd(2025, 8, 1), pd(2026, 8, 1)},
		{"aug year last instant", PeriodSchoolYear, pd(2025, 8, 1).Add(-time.Nanosecond), aug, "2024-25", pd(2024, 8, 1), pd(2025, 8, 1)},
		// Terms are 4 whole months: T1 Aug-Nov, T2 Dec-Mar, T3 Apr-Jul. January is month 6 → T2.
		{"aug T1", PeriodTerm, noon(2025, 11, 30), aug, "2025-26/T1", pd(2025, 8, 1), pd(2025, 12, 1)},
		{"aug T2", PeriodTerm, noon(2026, 1, 15), aug, "2025-26/T2", pd(2025, 12, 1), pd(2026, 4, 1)},
		{"aug T3", PeriodTerm, noon(2026, 7, 31), aug, "2025-26/T3", pd(2026, 4, 1), pd(2026, 8, 1)},
		// July start: Jul-Oct, Nov-Feb, Mar-Jun.
		{"jul year", PeriodSchoolYear, pd(2025, 7, 1), jul, "2025-26", pd(2025, 7, 1), pd(2026, 7, 1)},
		{"jul T1", PeriodTerm, pd(2025, 7, 1), jul, "2025-26/T1", pd(2025, 7, 1), pd(2025, 11, 1)},
		{"jul T2 across new year", PeriodTerm, noon(2026, 2, 28), jul, "2025-26/T2", pd(2025, 11, 1), pd(2026, 3, 1)},
		{"jul T3", PeriodTerm, noon(2025, 6, 30), jul, "2024-25/T3", pd(2025, 3, 1), pd(2025, 7, 1)},
		// January start: the school year is the calendar year, keyed by its single year.
		{"jan year", PeriodSchoolYear, noon(2026, 5, 5), jan, "2026", pd(2026, 1, 1), pd(2027, 1, 1)},
		{"jan T2", PeriodTerm, noon(2026, 5, 5), jan, "2026/T2", pd(2026, 5, 1), pd(2026, 9, 1)},
		// 0 means the default start month, August.
		{"default start", PeriodSchoolYear, noon(2026, 3, 1), observation.DistrictSettings{}, "2025-26", pd(2025, 8, 1), pd(2026, 8, 1)},
		// Century: the second year is two digits.
		{"century", PeriodSchoolYear, noon(2099, 9, 1), aug, "2099-00", pd(2099, 8, 1), pd(2100, 8, 1)},
		{"month", PeriodMonth, noon(2026, 1, 15), aug, "2026-01", pd(2026, 1, 1), pd(2026, 2, 1)},
		{"month december", PeriodMonth, noon(2025, 12, 31), aug, "2025-12", pd(2025, 12, 1), pd(2026, 1, 1)},
		// 2026-01-01 is a Thursday, so ISO week 1 of 2026 is Mon 2025-12-29 .. Sun 2026-01-04 and
		// Thursday 2026-01-15 is in week 3 (Mon 12 .. Sun 18).
		{"week", PeriodWeek, noon(2026, 1, 15), aug, "2026-W03", pd(2026, 1, 12), pd(2026, 1, 19)},
		{"week 1 starts in december", PeriodWeek, noon(2025, 12, 29), aug, "2026-W01", pd(2025, 12, 29), pd(2026, 1, 5)},
		// 2024-12-30 is a Monday in ISO week 2025-W01; 2021-01-03 is a Sunday in 2020-W53.
		{"week of next iso year", PeriodWeek, noon(2024, 12, 30), aug, "2025-W01", pd(2024, 12, 30), pd(2025, 1, 6)},
		{"week 53", PeriodWeek, noon(2021, 1, 3), aug, "2020-W53", pd(2020, 12, 28), pd(2021, 1, 4)},
		// Windows: the end day is inclusive. Baseline Aug 15 - Oct 15 → [Aug 15, Oct 16).
		{"baseline", PeriodWindow, noon(2025, 9, 1), aug, "2025-26/baseline", pd(2025, 8, 15), pd(2025, 10, 16)},
		{"baseline last day", PeriodWindow, pd(2025, 10, 16).Add(-time.Nanosecond), aug, "2025-26/baseline", pd(2025, 8, 15), pd(2025, 10, 16)},
		// Mid-year Jan 5 - Feb 28; in 2024 (a leap year) Feb 29 is outside it.
		{"mid year", PeriodWindow, noon(2026, 2, 28), aug, "2025-26/mid_year", pd(2026, 1, 5), pd(2026, 3, 1)},
		{"mid year leap", PeriodWindow, noon(2024, 2, 28), aug, "2023-24/mid_year", pd(2024, 1, 5), pd(2024, 2, 29)},
		{"end of year", PeriodWindow, noon(2026, 6, 10), aug, "2025-26/end_of_year", pd(2026, 4, 15), pd(2026, 6, 11)},
		// July start: Aug 15 is still in the school year that started Jul 1 the same year.
		{"jul baseline", PeriodWindow, noon(2025, 8, 20), jul, "2025-26/baseline", pd(2025, 8, 15), pd(2025, 10, 16)},
		{"jul end of year", PeriodWindow, noon(2026, 4, 15), jul, "2025-26/end_of_year", pd(2026, 4, 15), pd(2026, 6, 11)},
		// January start: the windows are in calendar order mid_year, end_of_year, baseline.
		{"jan baseline", PeriodWindow, noon(2026, 10, 15), jan, "2026/baseline", pd(2026, 8, 15), pd(2026, 10, 16)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := PeriodOf(c.kind, c.t, c.s)
			wantPeriod(t, p, ok, c.kind, c.key, c.start, c.end)
			if !p.Contains(c.t) {
				t.Errorf("%s does not contain %s", p, c.t)
			}
		})
	}
}

func TestPeriodOfUsesUTCDate(t *testing.T) {
	pst := time.FixedZone("PST", -8*3600)
	// 16:30 on Jan 31 in California is 00:30 on Feb 1 UTC.
	tm := time.Date(2026, 1, 31, 16, 30, 0, 0, pst)
	p, ok := PeriodOf(PeriodMonth, tm, observation.DistrictSettings{})
	wantPeriod(t, p, ok, PeriodMonth, "2026-02", pd(2026, 2, 1), pd(2026, 3, 1))
	q, _ := PeriodOf(PeriodMonth, tm.UTC(), observation.DistrictSettings{})
	if q != p {
		t.Errorf("the same instant in another zone gave %s, want %s", q, p)
	}
}

func TestPeriodOfWindowsAcrossNewYear(t *testing.T) {
	s := observation.DistrictSettings{SchoolYearStartMonth: 8, Windows: []observation.NamedWindow{
		{Key: "winter", StartMonth: 11, StartDay: 15, EndMonth: 2, EndDay: 15},
		{Key: "summer", StartMonth: 7, StartDay: 15, EndMonth: 8, EndDay: 20}, // crosses the school year's end
	}}
	p, ok := PeriodOf(PeriodWindow, pd(2026, 1, 10), s)
	wantPeriod(t, p, ok, PeriodWindow, "2025-26/winter", pd(2025, 11, 15), pd(2026, 2, 16))
	p, ok = PeriodOf(PeriodWindow, pd(2025, 11, 15), s)
	wantPeriod(t, p, ok, PeriodWindow, "2025-26/winter", pd(2025, 11, 15), pd(2026, 2, 16))
	for _, day := range []time.Time{pd(2025, 11, 14), pd(2026, 2, 16), pd(2026, 8, 10)} {
		if p, ok := PeriodOf(PeriodWindow, day, s); ok {
			t.Errorf("%s is in no window, got %s", day.Format(time.DateOnly), p)
		}
	}
	// A window is cut at the end of its school year: Aug 1-20 belong to the next school year,
	// whose summer window is Jul 15 of the year after.
	p, ok = PeriodOf(PeriodWindow, pd(2026, 7, 31), s)
	wantPeriod(t, p, ok, PeriodWindow, "2025-26/summer", pd(2026, 7, 15), pd(2026, 8, 1))

	// With a December start, the winter window (Nov 15 - Feb 15) starts at the end of the school
	// year and is cut at Dec 1; Dec 1 - Feb 15 is in no window.
	dec := observation.DistrictSettings{SchoolYearStartMonth: 12, Windows: s.Windows[:1]}
	p, ok = PeriodOf(PeriodWindow, pd(2026, 11, 20), dec)
	wantPeriod(t, p, ok, PeriodWindow, "2025-26/winter", pd(2026, 11, 15), pd(2026, 12, 1))
	if p, ok := PeriodOf(PeriodWindow, pd(2026, 1, 10), dec); ok {
		t.Errorf("got %s, want no window", p)
	}
}

func TestPeriodOfInvalid(t *testing.T) {
	now := pd(2026, 1, 15)
	if p, ok := PeriodOf("quarter", now, observation.DistrictSettings{}); ok {
		t.Errorf("unknown kind gave %s", p)
	}
	for _, m := range []int{-1, 13} {
		s := observation.DistrictSettings{SchoolYearStartMonth: m}
		for _, k := range []PeriodKind{PeriodSchoolYear, PeriodTerm, PeriodWindow} {
			if p, ok := PeriodOf(k, now, s); ok {
				t.Errorf("start month %d gave %s", m, p)
			}
		}
		if _, ok := PeriodOf(PeriodMonth, now, s); !ok {
			t.Errorf("months do not depend on the start month")
		}
	}
	if p, ok := PeriodOf(PeriodWindow, now, observation.DistrictSettings{}); ok {
		t.Errorf("no windows gave %s", p)
	}
	if p, ok := PeriodOf(PeriodMonth, pd(10000, 1, 1), observation.DistrictSettings{}); ok {
		t.Errorf("year 10000 gave %s", p)
	}
}

func TestPreviousPeriod(t *testing.T) {
	aug, jul := periodTestSettings(8), periodTestSettings(7)
	parse := func(kind PeriodKind, key string, s observation.DistrictSettings) Period {
		t.Helper()
		p, err := ParsePeriod(string(kind), key, s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		kind      PeriodKind
		key, prev string
		s         observation.DistrictSettings
	}{
		{PeriodSchoolYear, "2025-26", "2024-25", aug},
		{PeriodSchoolYear, "2000-01", "1999-00", aug},
		{PeriodTerm, "2025-26/T1", "2024-25/T3", aug},
		{PeriodTerm, "2025-26/T3", "2025-26/T2", jul},
		{PeriodMonth, "2026-01", "2025-12", aug},
		{PeriodWeek, "2026-W01", "2025-W52", aug},
		{PeriodWeek, "2021-W01", "2020-W53", aug},
		{PeriodDaily, "2026-03-01", "2026-02-28", aug},
		{PeriodDaily, "2024-03-01", "2024-02-29", jul},
		{PeriodWindow, "2025-26/mid_year", "2025-26/baseline", aug},
		{PeriodWindow, "2025-26/end_of_year", "2025-26/mid_year", aug},
		{PeriodWindow, "2025-26/baseline", "2024-25/end_of_year", aug},
		{PeriodWindow, "2025-26/baseline", "2024-25/end_of_year", jul},
	}
	for _, c := range cases {
		p := parse(c.kind, c.key, c.s)
		want := parse(c.kind, c.prev, c.s)
		if got := p.Previous(c.s); got != want {
			t.Errorf("%s.Previous() = %s, want %s", p, got, want)
		}
	}
	// Windows listed out of calendar order are ordered by start date.
	s := periodTestSettings(8)
	s.Windows[0], s.Windows[2] = s.Windows[2], s.Windows[0]
	if got := parse(PeriodWindow, "2025-26/end_of_year", s).Previous(s); got.Key != "2025-26/mid_year" {
		t.Errorf("previous of end_of_year = %s, want mid_year", got)
	}
	// A window the district no longer defines: the latest window starting before it.
	gone := Period{Kind: PeriodWindow, Key: "2025-26/winter", Start: pd(2025, 11, 15), End: pd(2026, 2, 16)}
	if got := gone.Previous(aug); got.Key != "2025-26/baseline" {
		t.Errorf("previous of a removed window = %s, want baseline", got)
	}
	if got := gone.Previous(observation.DistrictSettings{}); !got.IsZero() {
		t.Errorf("previous window without windows = %s, want none", got)
	}
}

// TestElapsed: a period in progress covers its days up to today and is compared with as many
// first days of the period before it; a period that has ended or not begun is whole.
func TestElapsed(t *testing.T) {
	aug := periodTestSettings(8)
	parse := func(kind PeriodKind, key string) Period {
		t.Helper()
		p, err := ParsePeriod(string(kind), key, aug)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 17, 30, 0, 0, time.UTC) }
	cases := []struct {
		kind                 PeriodKind
		key                  string
		now                  time.Time
		through, prevThrough string // "" for whole
	}{
		// December 1-6 against November 1-6, never all of November.
		{PeriodMonth, "2026-12", at(2026, 12, 6), "2026-12-06", "2026-11-06"},
		// March 30 against February: the whole of February is shorter than 30 days.
		{PeriodMonth, "2026-03", at(2026, 3, 30), "2026-03-30", ""},
		{PeriodMonth, "2026-03", at(2026, 3, 28), "2026-03-28", ""},
		{PeriodMonth, "2026-03", at(2026, 3, 27), "2026-03-27", "2026-02-27"},
		// The first day of a period: one day against one day.
		{PeriodMonth, "2026-03", at(2026, 3, 1), "2026-03-01", "2026-02-01"},
		// A school year: 218 days from August 1, so the previous year's first 218 days.
		{PeriodSchoolYear, "2025-26", at(2026, 3, 6), "2026-03-06", "2025-03-06"},
		{PeriodWeek, "2026-W10", at(2026, 3, 4), "2026-03-04", "2026-02-25"},
		{PeriodTerm, "2025-26/T2", at(2026, 1, 15), "2026-01-15", "2025-09-15"}, // T1 began August 1
		// Ended, or not begun: whole against whole.
		{PeriodMonth, "2026-02", at(2026, 3, 6), "", ""},
		{PeriodMonth, "2026-04", at(2026, 3, 6), "", ""},
	}
	for _, c := range cases {
		p := parse(c.kind, c.key)
		cur, prev := Elapsed(p, p.Previous(aug), c.now)
		if day(cur.Through) != c.through || day(prev.Through) != c.prevThrough || cur.Key != p.Key || prev.Key != p.Previous(aug).Key {
			t.Errorf("%s on %s: through %q, previous %s through %q; want %q, %q", p, c.now.Format(time.DateOnly),
				day(cur.Through), prev, day(prev.Through), c.through, c.prevThrough)
		}
		if cur.Partial() != (c.through != "") || cur.LastDay() != map[bool]time.Time{true: cur.Through, false: cur.End.AddDate(0, 0, -1)}[cur.Partial()] {
			t.Errorf("%s: Partial %v, LastDay %s", cur, cur.Partial(), cur.LastDay())
		}
	}
	// No previous period (a window kind without windows): the current one is still partial.
	p := parse(PeriodMonth, "2026-03")
	if cur, prev := Elapsed(p, Period{}, at(2026, 3, 6)); !cur.Partial() || !prev.IsZero() {
		t.Errorf("without a previous period: %v %v", cur, prev)
	}
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// TestSpanKeys: the month and day rows that cover exactly a period's days.
func TestSpanKeys(t *testing.T) {
	cases := []struct {
		p            Period
		months, days []string
	}{
		{Period{Kind: PeriodMonth, Key: "2026-11", Start: pd(2026, 11, 1), End: pd(2026, 12, 1), Through: pd(2026, 11, 3)},
			nil, []string{"2026-11-01", "2026-11-02", "2026-11-03"}},
		{Period{Kind: PeriodSchoolYear, Key: "2024-25", Start: pd(2024, 8, 1), End: pd(2025, 8, 1), Through: pd(2024, 10, 2)},
			[]string{"2024-08", "2024-09"}, []string{"2024-10-01", "2024-10-02"}},
		{Period{Kind: PeriodWindow, Key: "2025-26/w", Start: pd(2025, 11, 15), End: pd(2026, 2, 16), Through: pd(2026, 1, 31)},
			[]string{"2025-12", "2026-01"}, []string{"2025-11-15", "2025-11-16", "2025-11-17", "2025-11-18", "2025-11-19", "2025-11-20",
				"2025-11-21", "2025-11-22", "2025-11-23", "2025-11-24", "2025-11-25", "2025-11-26", "2025-11-27", "2025-11-28",
				"2025-11-29", "2025-11-30"}},
		// Whole: every day of the period.
		{Period{Kind: PeriodWeek, Key: "2026-W01", Start: pd(2025, 12, 29), End: pd(2026, 1, 5)},
			nil, []string{"2025-12-29", "2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"}},
	}
	for _, c := range cases {
		months, days := spanKeys(c.p)
		if !reflect.DeepEqual(months, c.months) || !reflect.DeepEqual(days, c.days) {
			t.Errorf("spanKeys(%s through %s) = %v %v, want %v %v", c.p, day(c.p.Through), months, days, c.months, c.days)
		}
	}
}

func wantPeriodError(t *testing.T, err error, field, reason string) {
	t.Helper()
	var e *observation.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want %s at %s", err, reason, field)
	}
	if e.Kind != observation.KindInvalid || e.Field != field || e.Reason != reason || e.Message == "" {
		t.Errorf("got %s %s at %q (%v), want %s at %q", e.Kind, e.Reason, e.Field, err, reason, field)
	}
}

func TestParsePeriod(t *testing.T) {
	aug := periodTestSettings(8)
	jan := periodTestSettings(1)
	good := []struct {
		kind, key  string
		s          observation.DistrictSettings
		start, end time.Time
	}{
		{"school_year", "2025-26", aug, pd(2025, 8, 1), pd(2026, 8, 1)},
		{"school_year", "2026", jan, pd(2026, 1, 1), pd(2027, 1, 1)},
		{"term", "2025-26/T2", aug, pd(2025, 12, 1), pd(2026, 4, 1)},
		{"month", "2026-02", aug, pd(2026, 2, 1), pd(2026, 3, 1)},
		{"week", "2020-W53", aug, pd(2020, 12, 28), pd(2021, 1, 4)},
		{"week", "2026-W03", aug, pd(2026, 1, 12), pd(2026, 1, 19)},
		{"window", "2025-26/mid_year", aug, pd(2026, 1, 5), pd(2026, 3, 1)},
		{"window", "2026/baseline", jan, pd(2026, 8, 15), pd(2026, 10, 16)},
	}
	for _, c := range good {
		p, err := ParsePeriod(c.kind, c.key, c.s)
		if err != nil {
			t.Errorf("ParsePeriod(%s, %s): %v", c.kind, c.key, err)
			continue
		}
		wantPeriod(t, p, true, PeriodKind(c.kind), c.key, c.start, c.end)
	}
	bad := []struct {
		kind, key     string
		s             observation.DistrictSettings
		field, reason string
	}{
		{"quarter", "2025-Q1", aug, "period.kind", periodReasonBadKind},
		{"", "2025-26", aug, "period.kind", periodReasonBadKind},
		{"school_year", "2025-27", aug, "period.key", periodReasonBadKey},
		{"school_year", "2025/26", aug, "period.key", periodReasonBadKey},
		{"school_year", "2026", aug, "period.key", periodReasonBadKey},
		{"school_year", "2025-26", jan, "period.key", periodReasonBadKey},
		{"school_year", "2025-26/T1", aug, "period.key", periodReasonBadKey},
		{"school_year", "+025-26", aug, "period.key", periodReasonBadKey},
		{"school_year", "2025-26", observation.DistrictSettings{SchoolYearStartMonth: 13}, "settings.school_year_start_month", periodReasonBadSetting},
		{"term", "2025-26/T4", aug, "period.key", periodReasonBadKey},
		{"term", "2025-26/T0", aug, "period.key", periodReasonBadKey},
		{"term", "2025-26", aug, "period.key", periodReasonBadKey},
		{"term", "2025-26/t1", aug, "period.key", periodReasonBadKey},
		{"month", "2026-13", aug, "period.key", periodReasonBadKey},
		{"month", "2026-00", aug, "period.key", periodReasonBadKey},
		{"month", "2026-1", aug, "period.key", periodReasonBadKey},
		{"month", "2026-011", aug, "period.key", periodReasonBadKey},
		{"week", "2021-W53", aug, "period.key", periodReasonBadKey},
		{"week", "2026-W00", aug, "period.key", periodReasonBadKey},
		{"week", "2026-03", aug, "period.key", periodReasonBadKey},
		{"week", "2026W03", aug, "period.key", periodReasonBadKey},
		{"window", "2025-26/spring", aug, "period.key", periodReasonUnknownWindow},
		{"window", "2025-26/", aug, "period.key", periodReasonBadKey},
		{"window", "2025-26", aug, "period.key", periodReasonBadKey},
		{"window", "2025-26/baseline", observation.DistrictSettings{Windows: []observation.NamedWindow{{Key: "baseline", StartMonth: 4, StartDay: 31, EndMonth: 5, EndDay: 1}}},
			"settings.windows[0].start_day", periodReasonBadSetting},
	}
	for _, c := range bad {
		_, err := ParsePeriod(c.kind, c.key, c.s)
		t.Run(c.kind+" "+c.key, func(t *testing.T) { wantPeriodError(t, err, c.field, c.reason) })
	}
}

func TestValidateWindowOverlap(t *testing.T) {
	for _, m := range []int{0, 1, 7, 8, 12} {
		if err := ValidateWindowOverlap(periodTestSettings(m)); err != nil {
			t.Errorf("start month %d: %v", m, err)
		}
	}
	adjacent := observation.DistrictSettings{Windows: []observation.NamedWindow{
		{Key: "fall", StartMonth: 9, StartDay: 1, EndMonth: 11, EndDay: 14},
		{Key: "winter", StartMonth: 11, StartDay: 15, EndMonth: 2, EndDay: 15},
	}}
	if err := ValidateWindowOverlap(adjacent); err != nil {
		t.Errorf("adjacent windows: %v", err)
	}
	if err := ValidateWindowOverlap(observation.DistrictSettings{SchoolYearStartMonth: 13, Windows: adjacent.Windows}); err != nil {
		t.Errorf("a bad start month is ValidateDistrictSettings' to report: %v", err)
	}
	edit := func(f func(s *observation.DistrictSettings)) observation.DistrictSettings {
		s := periodTestSettings(8)
		f(&s)
		return s
	}
	cases := []struct {
		name  string
		s     observation.DistrictSettings
		field string
	}{
		{"overlap", edit(func(s *observation.DistrictSettings) { s.Windows[0].EndMonth, s.Windows[0].EndDay = 1, 5 }), "settings.windows[1]"},
		{"listed later", edit(func(s *observation.DistrictSettings) {
			s.Windows[0].EndMonth, s.Windows[0].EndDay = 1, 5
			s.Windows[0], s.Windows[1] = s.Windows[1], s.Windows[0]
		}), "settings.windows[1]"},
		{"same window twice", edit(func(s *observation.DistrictSettings) { s.Windows = append(s.Windows, s.Windows[2]) }), "settings.windows[3]"},
		// Only outside leap years, where a window starting Feb 29 starts Feb 28, the last day of
		// mid_year (Jan 5 - Feb 28).
		{"non-leap overlap", edit(func(s *observation.DistrictSettings) {
			s.Windows = append(s.Windows, observation.NamedWindow{Key: "march", StartMonth: 2, StartDay: 29, EndMonth: 3, EndDay: 10})
		}), "settings.windows[3]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantPeriodError(t, ValidateWindowOverlap(c.s), c.field, periodReasonWindowOverlap) })
	}
}

// TestPeriodProperties checks, for random instants and start months, that the period of an
// instant contains it, parses back from its key, tiles time with its predecessor, and that terms
// split the school year in three.
func TestPeriodProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20260115))
	lo, hi := pd(1999, 1, 1).Unix(), pd(2041, 1, 1).Unix()
	for i := 0; i < 3000; i++ {
		tm := time.Unix(lo+rng.Int63n(hi-lo), 0).In(time.FixedZone("", (rng.Intn(27)-12)*3600))
		s := periodTestSettings(rng.Intn(13)) // 0..12; 0 is the default
		for _, kind := range periodKinds {
			p, ok := PeriodOf(kind, tm, s)
			if !ok {
				if kind != PeriodWindow {
					t.Fatalf("PeriodOf(%s, %s) failed", kind, tm)
				}
				continue
			}
			if !p.Contains(tm) || !p.Start.Before(p.End) {
				t.Fatalf("%s [%s, %s) does not contain %s", p, p.Start, p.End, tm)
			}
			back, err := ParsePeriod(string(kind), p.Key, s)
			if err != nil || back != p {
				t.Fatalf("ParsePeriod(%s) = %s, %v; want %s", p.Key, back, err, p)
			}
			prev := p.Previous(s)
			if prev.Kind != kind || !prev.Start.Before(p.Start) || prev.End.After(p.Start) {
				t.Fatalf("%s.Previous() = %s [%s, %s)", p, prev, prev.Start, prev.End)
			}
			if kind != PeriodWindow {
				if !prev.End.Equal(p.Start) {
					t.Fatalf("%s.Previous() = %s ends %s, not at %s", p, prev, prev.End, p.Start)
				}
				if again, _ := PeriodOf(kind, prev.Start, s); again != prev {
					t.Fatalf("PeriodOf(%s) = %s, want %s", prev.Start, again, prev)
				}
			}
		}
		sy, _ := PeriodOf(PeriodSchoolYear, tm, s)
		t1, _ := PeriodOf(PeriodTerm, sy.Start, s)
		t3, _ := PeriodOf(PeriodTerm, sy.End.Add(-time.Second), s)
		if t1.Key != sy.Key+"/T1" || t3.Key != sy.Key+"/T3" || !t1.Start.Equal(sy.Start) || !t3.End.Equal(sy.End) {
			t.Fatalf("terms %s %s do not span %s", t1, t3, sy)
		}
		if t2 := t3.Previous(s); !t2.Start.Equal(t1.End) || t2.Key != sy.Key+"/T2" {
			t.Fatalf("T2 %s does not follow %s", t2, t1)
		}
	}
}
