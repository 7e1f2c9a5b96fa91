package progress

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Comparison selects the period a view's changes are measured against (docs/statistics.md
// "Comparisons"). The zero Comparison is the period just before the selected one.
type Comparison struct {
	Against string // "" or CompareAgainstPrevious, CompareAgainstLastYear, CompareAgainstPeriod
	Key     string // with CompareAgainstPeriod: the key of a period of the selected period's kind
}

// What a comparison is against.
const (
	CompareAgainstPrevious = "previous"  // the period just before (Period.Previous)
	CompareAgainstLastYear = "last_year" // the same period one year earlier (YearBefore)
	CompareAgainstPeriod   = "period"    // a period of the same kind the caller names, before the selected one
)

// Reason codes of comparison errors.
const (
	compareReasonBadAgainst = "BAD_COMPARISON"        // not one of the CompareAgainst values
	compareReasonKeyMissing = "REQUIRED"              // against=period without a key
	compareReasonKeyUnused  = "UNUSED_KEY"            // a key with another against
	compareReasonNotBefore  = "COMPARISON_NOT_BEFORE" // the named period does not start before the selected one
)

// IsDefault reports whether c is the period just before the selected one.
func (c Comparison) IsDefault() bool {
	return c.Against == "" || c.Against == CompareAgainstPrevious
}

// scopeAgainst is scope with the comparison period set from c: v.previous is the period c
// names, covering the same elapsed days as v.period when v.period is in progress (see Elapsed).
func (pr *Service) scopeAgainst(ctx context.Context, p observation.Principal, q ViewQuery, needSite bool, c Comparison) (*viewScope, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	v, err := pr.scope(ctx, p, q, needSite)
	if err != nil || c.IsDefault() {
		return v, err
	}
	s := v.district.Settings
	cur := v.period
	cur.Through = time.Time{} // the whole period; Elapsed sets it again when it is in progress
	var prev Period
	switch c.Against {
	case CompareAgainstLastYear:
		prev = cur.YearBefore(s)
	default: // CompareAgainstPeriod
		prev, err = ParsePeriod(string(cur.Kind), c.Key, s)
		if err != nil {
			var e *observation.Error
			if errors.As(err, &e) && e.Field == "period.key" {
				named := *e
				named.Field = "compare.key" // the same key rules as period.key, of the selected kind
				return nil, &named
			}
			return nil, err
		}
		if !prev.Start.Before(cur.Start) {
			return nil, observation.Invalid("compare.key", compareReasonNotBefore,
				"the comparison period %s must start before the selected period %s", observation.Clip(c.Key), cur.Key)
		}
	}
	v.period, v.previous = Elapsed(cur, prev, pr.now())
	return v, nil
}

func (c Comparison) validate() error {
	switch c.Against {
	case "", CompareAgainstPrevious, CompareAgainstLastYear:
		if c.Key != "" {
			return observation.Invalid("compare.key", compareReasonKeyUnused, "compare.key is only for compare.against=%s", CompareAgainstPeriod)
		}
	case CompareAgainstPeriod:
		if c.Key == "" {
			return observation.Invalid("compare.key", compareReasonKeyMissing, "compare.against=%s needs the key of the period to compare with", CompareAgainstPeriod)
		}
	default:
		return observation.Invalid("compare.against", compareReasonBadAgainst, "compare.against %s is not one of %s, %s, %s",
			observation.Clip(c.Against), CompareAgainstPrevious, CompareAgainstLastYear, CompareAgainstPeriod)
	}
	return nil
}

// YearBefore returns the same period one year earlier: the school year before, the same term or
// window of the school year before, the same calendar month or day a year earlier, the same ISO
// week number of the ISO year before (its last week when it has no week 53). It returns the zero
// Period when there is none (an unknown kind, invalid settings, a window the district no longer
// defines, or a date before the supported years).
func (p Period) YearBefore(s observation.DistrictSettings) Period {
	switch p.Kind {
	case PeriodSchoolYear:
		return p.Previous(s)
	case PeriodTerm, PeriodWindow:
		m, ok := schoolYearStart(s)
		_, rest, _ := strings.Cut(p.Key, "/")
		if !ok || rest == "" {
			return Period{}
		}
		y := schoolYearOf(periodDay(p.Start), m)
		prev, err := ParsePeriod(string(p.Kind), schoolYearKey(y-1, m)+"/"+rest, s)
		if err != nil {
			return Period{}
		}
		return prev
	case PeriodWeek:
		y, w := p.Start.ISOWeek()
		if y-1 < minPeriodYear {
			return Period{}
		}
		return weekPeriod(y-1, min(w, isoWeeksIn(y-1)))
	case PeriodMonth, PeriodDaily:
		prev, _ := PeriodOf(p.Kind, p.Start.AddDate(-1, 0, 0), s)
		return prev
	}
	return Period{}
}
