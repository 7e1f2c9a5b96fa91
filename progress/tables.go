package progress

import (
	"math"
	"strconv"
	"time"
)

// Table is a progress view as rows of text, for CSV export: every figure of the view (the JSON
// response has no figure the table lacks), one value per line with its n and, for a withheld or
// empty cell, a note instead of a number ("suppressed: too few teachers", "no data"); a
// suppressed cell is never written as 0.
//
// Values are rounded for people, while JSON keeps full precision: counts are whole numbers,
// ratios (mean levels, rates, equity ratios, kappa, observations per classroom) have 3
// decimals, and shares (0..1) are written as percentages with 1 decimal in a measure named
// …_percent (their changes in percentage points). Halves round away from zero.
//
// The period a view covers, and the one it is compared with, are rows too: period_first_day,
// period_last_day, period_partial (1 when the period is in progress), period_through_day (the
// last day covered when partial), and the same for previous_…; so are the suppression rules
// applied (min_teachers_per_cell, suppression_threshold).
type Table struct {
	Header []string
	Rows   [][]string
}

// valueFormat is how a measure's value is written.
type valueFormat int

const (
	asCount valueFormat = iota // a whole number
	asRatio                    // 3 decimals
	asShare                    // a share 0..1 as a percentage with 1 decimal; the measure gets "_percent"
)

// roundHalfAway rounds v to the given decimals, halves away from zero, and never gives -0.
func roundHalfAway(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	r := math.Round(v*p) / p
	if r == 0 {
		return 0
	}
	return r
}

// formatValue writes a value for people (see Table).
func formatValue(v float64, f valueFormat) string {
	switch f {
	case asRatio:
		return strconv.FormatFloat(roundHalfAway(v, 3), 'f', 3, 64)
	case asShare:
		return strconv.FormatFloat(roundHalfAway(v*100, 1), 'f', 1, 64)
	}
	return strconv.FormatFloat(roundHalfAway(v, 0), 'f', 0, 64)
}

// cellText is a cell's value and note for a table.
func cellText(c Cell, f valueFormat) (value, n, note string) {
	switch {
	case c.Suppressed:
		return "", "", "suppressed: " + c.Reason
	case c.NoData:
		return "", "0", "no data"
	}
	return formatValue(c.Value, f), strconv.Itoa(c.N), ""
}

func measureName(measure string, f valueFormat) string {
	if f == asShare {
		return measure + "_percent"
	}
	return measure
}

func (t *Table) add(fixed []string, measure string, c Cell, f valueFormat) {
	v, n, note := cellText(c, f)
	t.Rows = append(t.Rows, append(append([]string(nil), fixed...), measureName(measure, f), v, n, note))
}

// text adds a row whose value is a text (a date, a key, a band); empty text is written as is.
func (t *Table) text(fixed []string, measure, value, note string) {
	t.Rows = append(t.Rows, append(append([]string(nil), fixed...), measure, value, "", note))
}

// flag adds a yes/no figure as 1 or 0.
func (t *Table) flag(fixed []string, measure string, b bool) {
	t.text(fixed, measure, strconv.Itoa(int(b2f(b))), "")
}

// period adds the rows that say which days a period covers; name is "period", "previous" or
// "baseline". The kind and key are rows too unless the table has them as columns (keyed).
func (t *Table) period(fixed []string, name string, p Period, keyed bool) {
	if !keyed {
		t.text(fixed, name+"_kind", string(p.Kind), "")
		t.text(fixed, name+"_key", p.Key, "")
	}
	first, last, through := "", "", ""
	if !p.Start.IsZero() {
		first, last = p.Start.Format(time.DateOnly), p.End.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if p.Partial() {
		through = p.Through.Format(time.DateOnly)
	}
	t.text(fixed, name+"_first_day", first, "")
	t.text(fixed, name+"_last_day", last, "")
	t.flag(fixed, name+"_partial", p.Partial())
	t.text(fixed, name+"_through_day", through, "")
}

// rules adds the suppression rules a view applied.
func (t *Table) rules(fixed []string, minTeachers, threshold int) {
	t.add(fixed, "min_teachers_per_cell", count(minTeachers), asCount)
	t.add(fixed, "suppression_threshold", count(threshold), asCount)
}

var measureColumns = []string{"measure", "value", "n", "note"}

func header(cols ...string) []string { return append(cols, measureColumns...) }

// blank returns fixed followed by n empty columns.
func blank(fixed []string, n int) []string {
	out := append([]string(nil), fixed...)
	for range n {
		out = append(out, "")
	}
	return out
}

// withheld is the cell of a count that is shown only when figure is not suppressed.
func withheld(n int, suppressed bool, reason string) Cell {
	if suppressed {
		return Cell{Suppressed: true, Reason: reason}
	}
	return count(n)
}

// dimensionRows adds one row per figure of each dimension summary.
func (t *Table) dimensionRows(fixed []string, ds []DimensionSummary) {
	for _, d := range ds {
		f := append(append([]string(nil), fixed...), d.Dimension, strconv.Itoa(d.Since))
		t.add(f, "mean_level", d.Mean, asRatio)
		t.add(f, "share_proficient", d.ShareProficient, asShare)
		for i, l := range d.Levels {
			t.add(f, "level_"+strconv.Itoa(d.MinLevel+i), l, asCount)
		}
		t.add(f, "not_observed", withheld(d.NotObserved, d.Suppressed(), d.Mean.Reason), asCount)
		t.add(f, "teachers", withheld(d.Teachers, d.Suppressed(), d.Mean.Reason), asCount)
		t.text(f, "change_status", "", d.Change.Status)
		if d.Change.Status == ChangeCompared {
			t.add(f, "change_mean_level", Cell{Value: d.Change.Mean, N: d.N}, asRatio)
			t.add(f, "change_share_proficient", Cell{Value: d.Change.ShareProficient, N: d.N}, asShare)
		}
	}
}

// Table returns the trends as rows: period, dimension, series, measure.
func (v SiteTrends) Table() Table {
	t := Table{Header: header("district_id", "site_id", "period_kind", "period_key", "dimension", "series_since")}
	for i, p := range v.Periods {
		f := blank([]string{v.DistrictID, v.SiteID, string(p.Kind), p.Key}, 2)
		t.period(f, "period", p, true)
		if i == len(v.Periods)-1 && p.Partial() && !v.Previous.IsZero() {
			t.period(f, "previous", v.Previous, false)
		}
	}
	t.rules(blank([]string{v.DistrictID, v.SiteID, "", ""}, 2), v.MinTeachers, 0)
	for _, d := range v.Dimensions {
		for i, p := range d.Points {
			t.dimensionRows([]string{v.DistrictID, v.SiteID, string(v.Periods[i].Kind), v.Periods[i].Key}, []DimensionSummary{p})
		}
	}
	return t
}

// Table returns district progress as rows: site (empty for the total), dimension, measure.
func (v DistrictProgress) Table() Table {
	t := Table{Header: header("district_id", "period_kind", "period_key", "site_id", "site_name", "dimension", "series_since")}
	top := blank([]string{v.DistrictID, string(v.Period.Kind), v.Period.Key}, 4)
	t.period(top, "period", v.Period, true)
	t.period(top, "previous", v.Previous, false)
	t.rules(top, v.MinTeachers, 0)
	for i, r := range append(append([]SiteRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName}
		t.add(append(f, "", ""), "observations", r.Observations, asCount)
		t.add(append(f, "", ""), "teachers", withheld(r.Teachers, r.Observations.Suppressed, r.Observations.Reason), asCount)
		if i < len(v.Sites) {
			t.flag(append(f, "", ""), "no_teachers", r.NoTeachers)
		}
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// Table returns the classroom view as rows: classroom, teacher, dimension, measure.
func (v ClassroomProgress) Table() Table {
	t := Table{Header: header("district_id", "site_id", "period_kind", "period_key", "classroom_id", "teacher_id", "course", "grade", "section", "dimension", "series_since")}
	top := blank([]string{v.DistrictID, v.SiteID, string(v.Period.Kind), v.Period.Key}, 7)
	t.period(top, "period", v.Period, true)
	t.period(top, "previous", v.Previous, false)
	for _, r := range v.Classrooms {
		f := []string{v.DistrictID, v.SiteID, string(v.Period.Kind), v.Period.Key, r.ClassroomID, r.TeacherID, r.Course, r.Grade, r.Section}
		t.add(append(f, "", ""), "observations", count(r.Observations), asCount)
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// Table returns coverage as rows: site (empty for the total) or classroom, measure.
func (v CoverageView) Table() Table {
	t := Table{Header: header("district_id", "period_kind", "period_key", "site_id", "site_name", "classroom_id", "teacher_id")}
	top := blank([]string{v.DistrictID, string(v.Period.Kind), v.Period.Key}, 4)
	t.period(top, "period", v.Period, true)
	t.period(top, "previous", v.Previous, false)
	t.text(top, "as_of", v.AsOf.Format(time.DateOnly), "")
	for i, r := range append(append([]CoverageRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName, "", ""}
		t.add(f, "classrooms", count(r.Classrooms), asCount)
		t.add(f, "observed_classrooms", count(r.Observed), asCount)
		t.add(f, "coverage", r.Coverage, asShare)
		t.add(f, "observations", count(r.Observations), asCount)
		t.add(f, "observations_per_classroom", r.PerClassroom, asRatio)
		t.add(f, "coverage_change", r.CoverageChange, asShare)
		t.add(f, "observations_per_classroom_change", r.PerClassroomChange, asRatio)
		if i < len(v.Sites) {
			t.flag(f, "no_teachers", r.NoTeachers)
		}
	}
	for _, c := range v.Classrooms {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, c.SiteID, "", c.ClassroomID, c.TeacherID}
		t.add(f, "observations", count(c.Observations), asCount)
		if c.DaysSince < 0 {
			t.add(f, "days_since_last_visit", Cell{NoData: true}, asCount)
			t.text(f, "last_visit", "", "no data")
		} else {
			t.add(f, "days_since_last_visit", count(c.DaysSince), asCount)
			t.text(f, "last_visit", c.LastVisit.Format(time.DateOnly), "")
		}
	}
	return t
}

func count(n int) Cell { return Cell{N: n, Value: float64(n)} }

// Table returns calibration as rows: observer (empty for everyone), dimension (empty for all
// dimensions), measure.
func (v CalibrationReport) Table() Table {
	t := Table{Header: header("district_id", "site_id", "period_kind", "period_key", "observer_id", "dimension", "series_since")}
	f := func(observer, dim string, since int) []string {
		s := ""
		if since > 0 {
			s = strconv.Itoa(since)
		}
		return []string{v.DistrictID, v.SiteID, string(v.Period.Kind), v.Period.Key, observer, dim, s}
	}
	t.period(f("", "", 0), "period", v.Period, true)
	t.period(f("", "", 0), "previous", v.Previous, false)
	t.add(f("", "", 0), "lessons", count(v.Lessons), asCount)
	agreement := func(fx []string, a Calibrated) {
		t.add(fx, "pairs", count(a.Pairs), asCount)
		t.add(fx, "excluded", count(a.Excluded), asCount)
		t.add(fx, "exact", a.Exact, asShare)
		t.add(fx, "adjacent", a.Adjacent, asShare)
		t.add(fx, "kappa", a.Kappa, asRatio)
		t.text(fx, "band", a.Band, "")
		if a.Band != "" {
			t.add(fx, "meets_target", Cell{Value: b2f(a.MeetsTarget), N: a.Pairs}, asCount)
		} else {
			t.add(fx, "meets_target", Cell{NoData: true}, asCount)
		}
		t.add(fx, "kappa_target", Cell{Value: a.KappaTarget}, asRatio)
		t.add(fx, "adjacent_target", Cell{Value: a.AdjacentTarget}, asShare)
		t.add(fx, "exact_change", a.ExactChange, asShare)
		t.add(fx, "adjacent_change", a.AdjacentChange, asShare)
		t.add(fx, "kappa_change", a.KappaChange, asRatio)
	}
	agreement(f("", "", 0), v.Overall)
	for _, d := range v.Dimensions {
		agreement(f("", d.Dimension, d.Since), d.Calibrated)
	}
	for _, o := range v.Observers {
		t.add(f(o.ObserverID, "", 0), "lessons", count(o.Lessons), asCount)
		agreement(f(o.ObserverID, "", 0), o.Overall)
		for _, d := range o.Dimensions {
			agreement(f(o.ObserverID, d.Dimension, d.Since), d.Calibrated)
		}
	}
	return t
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Table returns talk moves and equity as rows: site (empty for the total) or student group,
// measure.
func (v TalkEquity) Table() Table {
	t := Table{Header: header("district_id", "period_kind", "period_key", "site_id", "site_name", "student_group")}
	top := blank([]string{v.DistrictID, string(v.Period.Kind), v.Period.Key}, 3)
	t.period(top, "period", v.Period, true)
	t.period(top, "previous", v.Previous, false)
	t.rules(top, v.MinTeachers, v.Threshold)
	for _, r := range append(append([]TalkRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName, ""}
		t.add(f, "observations", withheld(r.Observations, r.Suppressed, r.Reason), asCount)
		t.add(f, "timed_observations", withheld(r.TimedObservations, r.Suppressed, r.Reason), asCount)
		t.add(f, "discussion_minutes", withheld(r.Minutes, r.Suppressed, r.Reason), asCount)
		t.add(f, "teachers", withheld(r.Teachers, r.Suppressed, r.Reason), asCount)
		for _, rate := range r.Rates {
			t.add(f, "rate_per_10_min:"+rate.Category, rate.Rate, asRatio)
			t.add(f, "change_rate_per_10_min:"+rate.Category, rate.Change, asRatio)
		}
		t.add(f, "press_share", r.PressShare, asShare)
		t.add(f, "reasoning_share", r.ReasoningShare, asShare)
		t.add(f, "press_share_change", r.PressShareChange, asShare)
		t.add(f, "reasoning_share_change", r.ReasoningShareChange, asShare)
	}
	t.add(top, "equity_observations", count(v.EquityN), asCount)
	for _, g := range v.Equity {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, v.SiteID, "", g.Group}
		t.add(f, "equity_ratio", g.Ratio, asRatio)
		t.add(f, "change_equity_ratio", g.Change, asRatio)
	}
	return t
}

// Table returns the network measures as rows: district (empty for the network), dimension,
// measure. Each district's rows say the days of its own period.
func (v NetworkMeasures) Table() Table {
	t := Table{Header: header("period_kind", "period_key", "district_id", "district_name", "dimension", "series_since")}
	top := blank([]string{string(v.Kind), v.Key}, 4)
	t.period(top, "period", v.Period, true)
	t.period(top, "previous", v.Previous, false)
	t.rules(top, v.MinTeachers, v.Threshold)
	for i, r := range append(append([]NetworkRow(nil), v.Districts...), v.Total) {
		f := []string{string(v.Kind), v.Key, r.DistrictID, r.DistrictName}
		if i < len(v.Districts) {
			t.period(append(f, "", ""), "period", r.Period, true)
			t.period(append(f, "", ""), "previous", r.Previous, false)
		}
		t.add(append(f, "", ""), "observations", r.Observations, asCount)
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// GoalsTable returns goals with their progress as rows. Values of a share_proficient goal are
// percentages, of a mean_level goal ratios; progress toward the target is a percentage.
func GoalsTable(goals []GoalProgress) Table {
	t := Table{Header: header("district_id", "goal_id", "site_id", "title", "rubric_id", "dimension", "goal_measure", "target", "target_date", "period_key", "baseline_key", "status")}
	for _, g := range goals {
		format := asRatio
		if g.Measure == GoalShareProficient {
			format = asShare
		}
		f := []string{g.DistrictID, g.ID, g.SiteID, g.Title, g.RubricID, g.Dimension, string(g.Measure),
			strconv.FormatFloat(g.Target, 'f', -1, 64), g.TargetDate.Format(time.DateOnly), g.Period.Key, g.Baseline.Key, g.Status}
		t.text(f, "period_kind", string(g.Period.Kind), "")
		t.period(f, "period", g.Period, true)
		t.period(f, "baseline", g.Baseline, false)
		t.add(f, "current", g.Current, format)
		t.add(f, "baseline_value", g.Start, format)
		t.add(f, "progress", g.Progress, asShare)
	}
	return t
}
