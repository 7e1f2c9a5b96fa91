package progress

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// PeriodKind is the kind of reporting period a progress view covers (docs/statistics.md "Periods").
type PeriodKind string

const (
	PeriodSchoolYear PeriodKind = "school_year" // key "2025-26"; "2026" when the school year starts in January
	PeriodTerm       PeriodKind = "term"        // key "2025-26/T1"; thirds of the school year, see PeriodOf
	PeriodMonth      PeriodKind = "month"       // key "2026-01"
	PeriodWeek       PeriodKind = "week"        // key "2026-W03"; ISO 8601 weeks, Monday to Sunday
	PeriodWindow     PeriodKind = "window"      // key "2025-26/baseline"; a district's named window
	PeriodDaily      PeriodKind = "day"         // key "2026-01-05"; one UTC date
)

// periodKinds lists every period kind in a stable order. Every kind has aggregate rows; the day
// rows let a period in progress be compared with the same elapsed part of the one before it
// (see Elapsed).
var periodKinds = []PeriodKind{PeriodSchoolYear, PeriodTerm, PeriodMonth, PeriodWeek, PeriodWindow, PeriodDaily}

// Period calendar constants.
const (
	defaultSchoolYearStartMonth = 8 // used when DistrictSettings.SchoolYearStartMonth is 0
	termsPerSchoolYear          = 3
	monthsPerTerm               = 12 / termsPerSchoolYear
	minPeriodYear               = 1000 // PeriodOf supports dates in years minPeriodYear..maxPeriodYear,
	maxPeriodYear               = 9998 // so that every key has a four-digit year
)

// Reason codes of period errors. They are stable: clients may switch on them.
const (
	periodReasonBadKind       = "BAD_PERIOD_KIND"    // not one of periodKinds
	periodReasonBadKey        = "BAD_PERIOD_KEY"     // the key is not in the kind's format, or out of range
	periodReasonUnknownWindow = "UNKNOWN_WINDOW"     // the key names a window the district does not define
	periodReasonBadSetting    = "BAD_PERIOD_SETTING" // ParsePeriod: the start month, or the window's month or day, is out of range
	periodReasonWindowOverlap = "WINDOW_OVERLAP"     // two named windows share a day
)

// Period is one reporting period: the dates [Start, End), both UTC midnights.
//
// Dates are UTC dates: an observation belongs to the period containing the UTC calendar date of
// its StartedAt instant (the canonical, stored form of a record is UTC, so a freshly received
// record and the same record read back always fall into the same period). Districts have no
// time zone setting; a lesson starting after 16:00 Pacific standard time falls on the next UTC
// date.
type Period struct {
	Kind  PeriodKind
	Key   string // e.g. "2025-26", "2025-26/T1", "2026-01", "2026-W03", "2025-26/baseline", "2026-01-05"
	Start time.Time
	End   time.Time
	// Through, when set, is the last day (a UTC midnight) the figures cover: the period is in
	// progress and Through is today, or it is the previous period of one in progress and only its
	// first days, as many as have elapsed of the current one, are compared (see Elapsed). Zero:
	// the whole period.
	Through time.Time
}

// Partial reports whether only the days Start..Through of the period are covered.
func (p Period) Partial() bool { return !p.Through.IsZero() }

// LastDay is the last day the figures cover: Through when partial, else the period's last day.
func (p Period) LastDay() time.Time {
	if p.Partial() {
		return p.Through
	}
	return p.End.AddDate(0, 0, -1)
}

// Elapsed returns the period cur and the period prev it is compared with, as seen on the UTC
// date of now (docs/statistics.md "Periods in progress"). When cur is in progress (now falls in
// it), cur covers its first days up to today (Through) and prev covers the same number of its
// own first days, so December 1-6 is compared with November 1-6 and a school year with the
// same days of the school year before; prev stays whole when it is no longer than that. A
// period that has ended, or not begun, is compared whole with the whole previous period.
func Elapsed(cur, prev Period, now time.Time) (Period, Period) {
	today := periodDay(now)
	if cur.IsZero() || !cur.Contains(today) {
		return cur, prev
	}
	cur.Through = today
	if prev.IsZero() {
		return cur, prev
	}
	through := prev.Start.AddDate(0, 0, int(today.Sub(cur.Start).Hours()/24))
	if through.Before(prev.End.AddDate(0, 0, -1)) {
		prev.Through = through
	}
	return cur, prev
}

// spanKeys returns the month keys and day keys whose aggregate rows together cover exactly the
// days p covers (Start..LastDay): whole calendar months where they fit, single days elsewhere.
func spanKeys(p Period) (months, days []string) {
	last := p.LastDay()
	for d := p.Start; !d.After(last); {
		if d.Day() == 1 {
			if next := d.AddDate(0, 1, 0); !next.AddDate(0, 0, -1).After(last) {
				months = append(months, monthPeriod(d.Year(), d.Month()).Key)
				d = next
				continue
			}
		}
		days = append(days, d.Format(time.DateOnly))
		d = d.AddDate(0, 0, 1)
	}
	return months, days
}

// IsZero reports whether p is the zero Period (no period).
func (p Period) IsZero() bool {
	return p.Kind == "" && p.Key == "" && p.Start.IsZero() && p.End.IsZero()
}

// Contains reports whether the instant t falls in [Start, End).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// String returns "kind:key".
func (p Period) String() string { return string(p.Kind) + ":" + p.Key }

// PeriodOf returns the period of the given kind that contains the UTC date of t.
//
//   - school_year: from the first day of the district's SchoolYearStartMonth (0 means
//     defaultSchoolYearStartMonth, August) to the same day a year later. The key names both
//     calendar years ("2025-26"), or the single year ("2026") when the school year starts in
//     January.
//   - term: the school year split into thirds of whole months: T1 is months 1-4 of the school
//     year, T2 months 5-8 and T3 months 9-12 (Aug-Nov, Dec-Mar, Apr-Jul for an August start;
//     Jul-Oct, Nov-Feb, Mar-Jun for July). Districts do not configure term dates, and whole
//     months keep term boundaries aligned with month views and independent of the weekday a
//     year starts on; a district with other terms defines them as named windows.
//   - month: the calendar month.
//   - week: the ISO 8601 week (Monday to Sunday), keyed by ISO week-year ("2026-W01" may start
//     in December 2025).
//   - day: the UTC date itself.
//   - window: the district's named window (s.Windows) in the school year containing t that
//     contains t; ok is false when t falls in no window. A window runs from its start month and
//     day to its end month and day inclusive; it crosses the new year when its end comes before
//     its start in the calendar (Nov 15 – Feb 15). A window starts at the first occurrence of
//     its start date in the school year and is cut at the end of the school year. A day
//     missing from a year (Feb 29) means the last day of that month. When windows overlap
//     (ValidateWindowOverlap reports that), the earliest-starting one wins, ties to the first
//     listed. Windows with invalid months or days never match.
//
// ok is false for an unknown kind, an invalid SchoolYearStartMonth (school_year, term and
// window), or a date outside the years 1000-9998.
func PeriodOf(kind PeriodKind, t time.Time, s observation.DistrictSettings) (Period, bool) {
	day := periodDay(t)
	if y := day.Year(); y < minPeriodYear || y > maxPeriodYear {
		return Period{}, false
	}
	switch kind {
	case PeriodMonth:
		return monthPeriod(day.Year(), day.Month()), true
	case PeriodDaily:
		return dayPeriod(day), true
	case PeriodWeek:
		y, w := day.ISOWeek()
		return weekPeriod(y, w), true
	case PeriodSchoolYear, PeriodTerm, PeriodWindow:
	default:
		return Period{}, false
	}
	m, ok := schoolYearStart(s)
	if !ok {
		return Period{}, false
	}
	y := schoolYearOf(day, m)
	switch kind {
	case PeriodSchoolYear:
		return schoolYearPeriod(y, m), true
	case PeriodTerm:
		months := int(day.Month()-m+12) % 12 // months since the school year started
		return termPeriod(y, m, 1+months/monthsPerTerm), true
	default: // PeriodWindow
		for _, w := range windowSpans(y, m, s.Windows) {
			if w.p.Contains(day) {
				return w.p, true
			}
		}
		return Period{}, false
	}
}

// Previous returns the period before p, for trends: the previous school year, term, month or
// ISO week or the day before; for a window, the window before it in the school year's order (by start date, ties
// in listed order), or the last window of the previous school year when p is the first. It
// returns the zero Period when there is none (an unknown kind, invalid settings, or a window
// kind when the district defines no windows).
func (p Period) Previous(s observation.DistrictSettings) Period {
	if p.Kind != PeriodWindow {
		prev, _ := PeriodOf(p.Kind, p.Start.AddDate(0, 0, -1), s)
		return prev
	}
	m, ok := schoolYearStart(s)
	if !ok {
		return Period{}
	}
	y := schoolYearOf(periodDay(p.Start), m)
	spans := append(windowSpans(y-1, m, s.Windows), windowSpans(y, m, s.Windows)...)
	for i, w := range spans {
		if w.p.Key == p.Key && w.p.Start.Equal(p.Start) {
			if i == 0 {
				return Period{}
			}
			return spans[i-1].p
		}
	}
	// p is not one of the district's current windows (its settings changed): take the latest
	// window that starts before it.
	var prev Period
	for _, w := range spans {
		if w.p.Start.Before(p.Start) {
			prev = w.p
		}
	}
	return prev
}

// ParsePeriod returns the period of the given kind and key, in the key formats PeriodOf
// produces; ParsePeriod(string(p.Kind), p.Key, s) returns p for every p that PeriodOf returns.
// Errors are *observation.Error of kind KindInvalid with Field "period.kind", "period.key" or,
// when the district's settings do not allow the period, "settings.school_year_start_month" or
// "settings.windows[i]....", and one of the periodReason codes.
func ParsePeriod(kind, key string, s observation.DistrictSettings) (Period, error) {
	p, err := parsePeriod(PeriodKind(kind), key, s)
	if err != nil {
		return Period{}, err
	}
	if y := p.Start.Year(); y < minPeriodYear || y > maxPeriodYear {
		return Period{}, observation.Invalid("period.key", periodReasonBadKey, "period %s is outside the years %d to %d", observation.Clip(key), minPeriodYear, maxPeriodYear)
	}
	return p, nil
}

func parsePeriod(kind PeriodKind, key string, s observation.DistrictSettings) (Period, *observation.Error) {
	switch kind {
	case PeriodMonth:
		y, ok1 := periodDigits(key, 0, 4)
		mo, ok2 := periodDigits(key, 5, 7)
		if len(key) != 7 || key[4] != '-' || !ok1 || !ok2 || mo < 1 || mo > 12 {
			return Period{}, badPeriodKey(kind, key, "2026-01")
		}
		return monthPeriod(y, time.Month(mo)), nil
	case PeriodDaily:
		y, ok1 := periodDigits(key, 0, 4)
		mo, ok2 := periodDigits(key, 5, 7)
		d, ok3 := periodDigits(key, 8, 10)
		if len(key) != 10 || key[4] != '-' || key[7] != '-' || !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > periodDaysIn(y, time.Month(mo)) {
			return Period{}, badPeriodKey(kind, key, "2026-01-05")
		}
		return dayPeriod(utcDate(y, time.Month(mo), d)), nil
	case PeriodWeek:
		y, ok1 := periodDigits(key, 0, 4)
		w, ok2 := periodDigits(key, 6, 8)
		if len(key) != 8 || key[4:6] != "-W" || !ok1 || !ok2 || w < 1 || w > isoWeeksIn(y) {
			return Period{}, badPeriodKey(kind, key, "2026-W03")
		}
		return weekPeriod(y, w), nil
	case PeriodSchoolYear, PeriodTerm, PeriodWindow:
	default:
		return Period{}, observation.Invalid("period.kind", periodReasonBadKind, "period kind %s is not one of %v", observation.Clip(string(kind)), periodKinds)
	}
	m, ok := schoolYearStart(s)
	if !ok {
		return Period{}, observation.Invalid("settings.school_year_start_month", periodReasonBadSetting,
			"school year start month %d is outside 1..12", s.SchoolYearStartMonth)
	}
	yearKey, rest, hasRest := strings.Cut(key, "/")
	y, ok := parseSchoolYearKey(yearKey, m)
	example := schoolYearKey(2025, m)
	switch kind {
	case PeriodSchoolYear:
		if !ok || hasRest {
			return Period{}, badPeriodKey(kind, key, example)
		}
		return schoolYearPeriod(y, m), nil
	case PeriodTerm:
		if !ok || len(rest) != 2 || rest[0] != 'T' || rest[1] < '1' || rest[1] > '0'+termsPerSchoolYear {
			return Period{}, badPeriodKey(kind, key, example+"/T1")
		}
		return termPeriod(y, m, int(rest[1]-'0')), nil
	default: // PeriodWindow
		if !ok || rest == "" {
			return Period{}, badPeriodKey(kind, key, example+"/baseline")
		}
		for i, w := range s.Windows {
			if w.Key != rest {
				continue
			}
			if err := checkWindowDates(i, w); err != nil {
				return Period{}, err
			}
			for _, sp := range windowSpans(y, m, s.Windows) {
				if sp.index == i {
					return sp.p, nil
				}
			}
		}
		return Period{}, observation.Invalid("period.key", periodReasonUnknownWindow, "the district defines no window %s", observation.Clip(rest))
	}
}

// ValidateWindowOverlap reports the first pair of a district's named windows that share a day
// in some school year, as an *observation.Error of kind KindInvalid with Field
// "settings.windows[i]" (the later-listed window of the pair) and Reason
// periodReasonWindowOverlap; nil when none overlap. Windows with invalid months or days and an
// invalid start month are left to observation.ValidateDistrictSettings. PeriodOf resolves
// overlaps (the earliest-starting window wins), but a day counted in two windows makes their
// trends compare the same observations, so settings should not allow it.
func ValidateWindowOverlap(s observation.DistrictSettings) error {
	m, ok := schoolYearStart(s)
	if !ok {
		return nil
	}
	// Overlaps depend on leap years (Feb 29) and on nothing else, so four consecutive school
	// years cover every case.
	for y := 2023; y <= 2026; y++ {
		spans := windowSpans(y, m, s.Windows)
		for j := 1; j < len(spans); j++ {
			for i := 0; i < j; i++ {
				if spans[j].p.Start.Before(spans[i].p.End) {
					a, b := spans[i].index, spans[j].index
					if a > b {
						a, b = b, a
					}
					return observation.Invalid(fmt.Sprintf("settings.windows[%d]", b), periodReasonWindowOverlap,
						"window %s overlaps window %s", observation.Clip(s.Windows[b].Key), observation.Clip(s.Windows[a].Key))
				}
			}
		}
	}
	return nil
}

// checkWindowDates checks the months and days of the window at index i of the settings.
func checkWindowDates(i int, w observation.NamedWindow) *observation.Error {
	// The field's path is made only for an error: every record a delta counts places its
	// district's windows (windowSpans), which checks them.
	p := func() string { return fmt.Sprintf("settings.windows[%d]", i) }
	for _, f := range [...]struct {
		name       string
		month, day int
	}{{"start", w.StartMonth, w.StartDay}, {"end", w.EndMonth, w.EndDay}} {
		if f.month < 1 || f.month > 12 {
			return observation.Invalid(p()+"."+f.name+"_month", periodReasonBadSetting, "month %d is outside 1..12", f.month)
		}
		if last := periodDaysIn(2024, time.Month(f.month)); f.day < 1 || f.day > last { // 2024: a leap year
			return observation.Invalid(p()+"."+f.name+"_day", periodReasonBadSetting, "day %d is outside 1..%d", f.day, last)
		}
	}
	return nil
}

func badPeriodKey(kind PeriodKind, key, example string) *observation.Error {
	return observation.Invalid("period.key", periodReasonBadKey, "%s is not a %s key like %q", observation.Clip(key), kind, example)
}

// periodDigits parses key[i:j] as a non-negative decimal made only of digits.
func periodDigits(key string, i, j int) (int, bool) {
	if j > len(key) {
		return 0, false
	}
	n := 0
	for _, c := range []byte(key[i:j]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// schoolYearStart returns the district's school year start month; 0 means the default.
func schoolYearStart(s observation.DistrictSettings) (time.Month, bool) {
	m := s.SchoolYearStartMonth
	if m == 0 {
		m = defaultSchoolYearStartMonth
	}
	if m < 1 || m > 12 {
		return 0, false
	}
	return time.Month(m), true
}

// schoolYearOf returns the calendar year in which the school year containing day starts.
func schoolYearOf(day time.Time, m time.Month) int {
	if day.Month() >= m {
		return day.Year()
	}
	return day.Year() - 1
}

func schoolYearKey(y int, m time.Month) string {
	if m == time.January {
		return fmt.Sprintf("%04d", y)
	}
	return fmt.Sprintf("%04d-%02d", y, (y+1)%100)
}

func parseSchoolYearKey(key string, m time.Month) (int, bool) {
	y, ok := periodDigits(key, 0, 4)
	if !ok {
		return 0, false
	}
	if m == time.January {
		return y, len(key) == 4
	}
	next, ok := periodDigits(key, 5, 7)
	return y, ok && len(key) == 7 && key[4] == '-' && next == (y+1)%100
}

func utcDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// periodDay returns the UTC midnight of t's UTC date.
func periodDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return utcDate(y, m, d)
}

func periodDaysIn(y int, m time.Month) int { return utcDate(y, m+1, 0).Day() }

func isoWeeksIn(y int) int {
	_, w := utcDate(y, time.December, 28).ISOWeek()
	return w
}

func schoolYearPeriod(y int, m time.Month) Period {
	return Period{Kind: PeriodSchoolYear, Key: schoolYearKey(y, m), Start: utcDate(y, m, 1), End: utcDate(y+1, m, 1)}
}

func termPeriod(y int, m time.Month, n int) Period {
	return Period{
		Kind:  PeriodTerm,
		Key:   schoolYearKey(y, m) + "/T" + strconv.Itoa(n),
		Start: utcDate(y, m+time.Month((n-1)*monthsPerTerm), 1),
		End:   utcDate(y, m+time.Month(n*monthsPerTerm), 1),
	}
}

func monthPeriod(y int, m time.Month) Period {
	return Period{Kind: PeriodMonth, Key: fmt.Sprintf("%04d-%02d", y, int(m)), Start: utcDate(y, m, 1), End: utcDate(y, m+1, 1)}
}

func dayPeriod(day time.Time) Period {
	return Period{Kind: PeriodDaily, Key: day.Format(time.DateOnly), Start: day, End: day.AddDate(0, 0, 1)}
}

func weekPeriod(isoYear, week int) Period {
	jan4 := utcDate(isoYear, time.January, 4) // always in ISO week 1
	monday1 := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	start := monday1.AddDate(0, 0, 7*(week-1))
	return Period{Kind: PeriodWeek, Key: fmt.Sprintf("%04d-W%02d", isoYear, week), Start: start, End: start.AddDate(0, 0, 7)}
}

// windowSpan is one named window placed in one school year.
type windowSpan struct {
	index int // in DistrictSettings.Windows
	p     Period
}

// windowSpans places the valid windows of ws in the school year starting in month m of year y,
// in order of start date, ties in listed order. Windows with invalid months or days are left out.
func windowSpans(y int, m time.Month, ws []observation.NamedWindow) []windowSpan {
	spans := make([]windowSpan, 0, len(ws))
	yearEnd := utcDate(y+1, m, 1)
	for i, w := range ws {
		if checkWindowDates(i, w) != nil {
			continue
		}
		sm, em := time.Month(w.StartMonth), time.Month(w.EndMonth)
		sy := y
		if sm < m {
			sy++
		}
		ey := sy
		if w.EndMonth < w.StartMonth || w.EndMonth == w.StartMonth && w.EndDay < w.StartDay {
			ey++ // crosses the new year
		}
		start := utcDate(sy, sm, min(w.StartDay, periodDaysIn(sy, sm)))
		end := utcDate(ey, em, min(w.EndDay, periodDaysIn(ey, em))).AddDate(0, 0, 1) // end day inclusive
		if end.After(yearEnd) {
			end = yearEnd
		}
		spans = append(spans, windowSpan{index: i, p: Period{
			Kind:  PeriodWindow,
			Key:   schoolYearKey(y, m) + "/" + w.Key,
			Start: start,
			End:   end,
		}})
	}
	slices.SortStableFunc(spans, func(a, b windowSpan) int { return a.p.Start.Compare(b.p.Start) })
	return spans
}
