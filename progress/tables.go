package progress

import (
	"strconv"
	"time"
)

// Table is a progress view as rows of text, for CSV export: the same figures as the view, one
// value per line with its n and, for a withheld or empty cell, a note instead of a number
// ("suppressed: too few teachers", "no data"); a suppressed cell is never written as 0.
type Table struct {
	Header []string
	Rows   [][]string
}

// cellText is a cell's value and note for a table.
func cellText(c Cell) (value, n, note string) {
	switch {
	case c.Suppressed:
		return "", "", "suppressed: " + c.Reason
	case c.NoData:
		return "", "0", "no data"
	}
	return strconv.FormatFloat(c.Value, 'f', -1, 64), strconv.Itoa(c.N), ""
}

func (t *Table) add(fixed []string, measure string, c Cell) {
	v, n, note := cellText(c)
	t.Rows = append(t.Rows, append(append([]string(nil), fixed...), measure, v, n, note))
}

var measureColumns = []string{"measure", "value", "n", "note"}

func header(cols ...string) []string { return append(cols, measureColumns...) }

// dimensionRows adds one row per figure of each dimension summary.
func (t *Table) dimensionRows(fixed []string, ds []DimensionSummary) {
	for _, d := range ds {
		f := append(append([]string(nil), fixed...), d.Dimension, strconv.Itoa(d.Since))
		t.add(f, "mean_level", d.Mean)
		t.add(f, "share_proficient", d.ShareProficient)
		for i, l := range d.Levels {
			t.add(f, "level_"+strconv.Itoa(d.MinLevel+i), l)
		}
		t.Rows = append(t.Rows, append(append([]string(nil), f...), "change_status", "", "", d.Change.Status))
		if d.Change.Status == ChangeCompared {
			t.add(f, "change_mean_level", Cell{Value: d.Change.Mean, N: d.N})
			t.add(f, "change_share_proficient", Cell{Value: d.Change.ShareProficient, N: d.N})
		}
	}
}

// Table returns the trends as rows: period, dimension, series, measure.
func (v SiteTrends) Table() Table {
	t := Table{Header: header("district_id", "site_id", "period_kind", "period_key", "dimension", "series_since")}
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
	for _, r := range append(append([]SiteRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName}
		t.add(append(f, "", ""), "observations", r.Observations)
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// Table returns the classroom view as rows: classroom, teacher, dimension, measure.
func (v ClassroomProgress) Table() Table {
	t := Table{Header: header("district_id", "site_id", "period_kind", "period_key", "classroom_id", "teacher_id", "course", "grade", "section", "dimension", "series_since")}
	for _, r := range v.Classrooms {
		f := []string{v.DistrictID, v.SiteID, string(v.Period.Kind), v.Period.Key, r.ClassroomID, r.TeacherID, r.Course, r.Grade, r.Section}
		t.add(append(f, "", ""), "observations", Cell{N: r.Observations, Value: float64(r.Observations)})
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// Table returns coverage as rows: site (empty for the total) or classroom, measure.
func (v CoverageView) Table() Table {
	t := Table{Header: header("district_id", "period_kind", "period_key", "site_id", "site_name", "classroom_id", "teacher_id")}
	for _, r := range append(append([]CoverageRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName, "", ""}
		t.add(f, "classrooms", count(r.Classrooms))
		t.add(f, "observed_classrooms", count(r.Observed))
		t.add(f, "coverage", r.Coverage)
		t.add(f, "observations", count(r.Observations))
		t.add(f, "observations_per_classroom", r.PerClassroom)
		t.add(f, "change_coverage", r.CoverageChange)
		t.add(f, "change_observations_per_classroom", r.PerClassroomChange)
	}
	for _, c := range v.Classrooms {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, c.SiteID, "", c.ClassroomID, c.TeacherID}
		t.add(f, "observations", count(c.Observations))
		if c.DaysSince < 0 {
			t.add(f, "days_since_last_visit", Cell{NoData: true})
		} else {
			t.add(f, "days_since_last_visit", count(c.DaysSince))
			t.Rows = append(t.Rows, append(append([]string(nil), f...), "last_visit", c.LastVisit.Format(time.DateOnly), "1", ""))
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
	agreement := func(fx []string, a Calibrated) {
		t.add(fx, "pairs", count(a.Pairs))
		t.add(fx, "exact_agreement", a.Exact)
		t.add(fx, "adjacent_agreement", a.Adjacent)
		t.add(fx, "kappa_quadratic", a.Kappa)
		if a.Band != "" {
			t.Rows = append(t.Rows, append(append([]string(nil), fx...), "kappa_band", "", "", a.Band))
			t.add(fx, "meets_target", Cell{Value: b2f(a.MeetsTarget), N: a.Pairs})
		}
		t.add(fx, "change_exact_agreement", a.ExactChange)
		t.add(fx, "change_adjacent_agreement", a.AdjacentChange)
		t.add(fx, "change_kappa_quadratic", a.KappaChange)
	}
	agreement(f("", "", 0), v.Overall)
	for _, d := range v.Dimensions {
		agreement(f("", d.Dimension, d.Since), d.Calibrated)
	}
	for _, o := range v.Observers {
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
	for _, r := range append(append([]TalkRow(nil), v.Sites...), v.Total) {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, r.SiteID, r.SiteName, ""}
		obs := count(r.Observations)
		if r.Suppressed {
			obs = Cell{Suppressed: true, Reason: r.Reason}
		}
		t.add(f, "observations", obs)
		for _, rate := range r.Rates {
			t.add(f, "rate_per_10_min:"+rate.Category, rate.Rate)
			t.add(f, "change_rate_per_10_min:"+rate.Category, rate.Change)
		}
		t.add(f, "press_share", r.PressShare)
		t.add(f, "student_reasoning_share", r.ReasoningShare)
		t.add(f, "change_press_share", r.PressShareChange)
		t.add(f, "change_student_reasoning_share", r.ReasoningShareChange)
	}
	for _, g := range v.Equity {
		f := []string{v.DistrictID, string(v.Period.Kind), v.Period.Key, v.SiteID, "", g.Group}
		t.add(f, "equity_ratio", g.Ratio)
		t.add(f, "change_equity_ratio", g.Change)
	}
	return t
}

// Table returns the network measures as rows: district (empty for the network), dimension,
// measure.
func (v NetworkMeasures) Table() Table {
	t := Table{Header: header("period_kind", "period_key", "district_id", "district_name", "dimension", "series_since")}
	for _, r := range append(append([]NetworkRow(nil), v.Districts...), v.Total) {
		f := []string{string(v.Kind), v.Key, r.DistrictID, r.DistrictName}
		t.add(append(f, "", ""), "observations", r.Observations)
		t.dimensionRows(f, r.Dimensions)
	}
	return t
}

// GoalsTable returns goals with their progress as rows.
func GoalsTable(goals []GoalProgress) Table {
	t := Table{Header: header("district_id", "goal_id", "site_id", "title", "rubric_id", "dimension", "goal_measure", "target", "target_date", "period_key", "baseline_key", "status")}
	for _, g := range goals {
		f := []string{g.DistrictID, g.ID, g.SiteID, g.Title, g.RubricID, g.Dimension, string(g.Measure),
			strconv.FormatFloat(g.Target, 'f', -1, 64), g.TargetDate.Format(time.DateOnly), g.Period.Key, g.Baseline.Key, g.Status}
		t.add(f, "current", g.Current)
		t.add(f, "baseline", g.Start)
		t.add(f, "progress", g.Progress)
	}
	return t
}
