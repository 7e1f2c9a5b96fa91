package progress

import (
	"context"
	"slices"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// ClassroomRow is one classroom and teacher's figures in a period.
type ClassroomRow struct {
	ClassroomID  string
	TeacherID    string
	Course       string
	Grade        string
	Section      string
	Observations int
	Dimensions   []DimensionSummary
}

// ClassroomProgress is a site's figures by classroom for one period: teacher-level data.
type ClassroomProgress struct {
	DistrictID string
	SiteID     string
	RubricID   string
	Period     Period
	Previous   Period
	Classrooms []ClassroomRow
}

// Classrooms returns a site's figures per classroom (and teacher). Only the site's principal and
// coaches may read it; each read is audited.
func (pr *Service) Classrooms(ctx context.Context, p observation.Principal, q ViewQuery) (ClassroomProgress, error) {
	v, err := pr.scope(ctx, p, q, true)
	if err != nil {
		return ClassroomProgress{}, err
	}
	if !v.teachers[v.siteIDs[0]] {
		return ClassroomProgress{}, teacherLevelDenied()
	}
	byKey, err := pr.cells(ctx, v, v.period, v.previous)
	if err != nil {
		return ClassroomProgress{}, err
	}
	rooms, err := pr.Store.ProgressClassrooms(ctx, v.district.ID, v.siteIDs)
	if err != nil {
		return ClassroomProgress{}, err
	}
	type rk struct{ room, teacher string }
	sum := func(cells []CellRow) map[rk]*summary {
		out := map[rk]*summary{}
		for _, c := range cells {
			k := rk{c.ClassroomID, c.TeacherID}
			if out[k] == nil {
				out[k] = &summary{}
			}
			out[k].Add(c, v.series)
		}
		return out
	}
	cur, prev := sum(byKey[v.period.Key]), sum(byKey[v.previous.Key])
	sets := []map[dimSeries]bool{}
	for _, m := range []map[rk]*summary{cur, prev} {
		for _, s := range m {
			sets = append(sets, s.seriesSet())
		}
	}
	order := v.series.ordered(sets...)
	info := map[string]observation.Classroom{}
	var keys []rk
	for _, c := range rooms {
		info[c.ID] = c
		keys = append(keys, rk{c.ID, c.TeacherID})
	}
	for k := range cur {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b rk) int {
		if c := strings.Compare(a.room, b.room); c != 0 {
			return c
		}
		return strings.Compare(a.teacher, b.teacher)
	})
	out := ClassroomProgress{DistrictID: v.district.ID, SiteID: v.siteIDs[0], RubricID: v.rubricID, Period: v.period, Previous: v.previous}
	for _, k := range keys {
		c, p := cur[k], prev[k]
		if c == nil {
			c = &summary{}
		}
		if p == nil {
			p = &summary{}
		}
		row := ClassroomRow{ClassroomID: k.room, TeacherID: k.teacher, Course: info[k.room].Course, Grade: info[k.room].Grade,
			Section: info[k.room].Section, Observations: c.Observations,
			Dimensions: dimensionSummaries(*c, order, v.series, v.district.Settings)}
		compareSummaries(row.Dimensions, dimensionSummaries(*p, order, v.series, v.district.Settings))
		out.Classrooms = append(out.Classrooms, row)
	}
	if err := pr.auditRead(ctx, p, v, "progress.classrooms.read", "site", v.siteIDs[0]); err != nil {
		return ClassroomProgress{}, err
	}
	return out, nil
}
