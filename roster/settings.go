package roster

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// Settings returns a district's settings.
func (r *Service) Settings(ctx context.Context, p observation.Principal, d string) (observation.District, error) {
	return r.district(ctx, p, d, false)
}

// StudentGroups returns the district's student-group definitions.
func (r *Service) StudentGroups(ctx context.Context, p observation.Principal, d string) ([]observation.StudentGroup, error) {
	dist, err := r.district(ctx, p, d, false)
	if err != nil {
		return nil, err
	}
	return dist.Settings.StudentGroups, nil
}

// UpdateSettings changes the fields of a district's settings named by paths (settingsFields;
// none or "*": every field) to their values in in. An update that changes nothing writes nothing.
func (r *Service) UpdateSettings(ctx context.Context, p observation.Principal, d string, in observation.DistrictSettings, paths []string) (observation.District, bool, error) {
	if err := access(p, d, true); err != nil {
		return observation.District{}, false, err
	}
	fields, err := settingsMask(paths)
	if err != nil {
		return observation.District{}, false, err
	}
	changed := false
	dist, err := r.Store.UpdateDistrict(ctx, d, func(cur *observation.District) (*observation.AuditEntry, error) {
		next := mergeSettings(cur.Settings, in, fields)
		if err := observation.ValidateDistrictSettings(next); err != nil {
			return nil, err
		}
		diff := settingsDiff(cur.Settings, next)
		if len(diff) == 0 {
			return nil, nil
		}
		changed = true
		a := observation.Audit(p, d, "district.update_settings", "district_settings", d, r.now())
		a.Details["changed"] = diff
		a.Details["before"] = cur.Settings
		a.Details["after"] = next
		cur.Settings = next
		return &a, nil
	})
	return dist, changed, err
}

// UpsertStudentGroup adds a student group to the district's definitions, or relabels the group
// with the same key.
func (r *Service) UpsertStudentGroup(ctx context.Context, p observation.Principal, d string, g observation.StudentGroup) (observation.StudentGroup, UpsertOutcome, error) {
	if err := access(p, d, true); err != nil {
		return observation.StudentGroup{}, "", err
	}
	if err := observation.ValidateStudentGroup("student_group", g); err != nil {
		return observation.StudentGroup{}, "", err
	}
	outcome := OutcomeUnchanged
	_, err := r.Store.UpdateDistrict(ctx, d, func(cur *observation.District) (*observation.AuditEntry, error) {
		next := cloneSettings(cur.Settings)
		i := slices.IndexFunc(next.StudentGroups, func(x observation.StudentGroup) bool { return x.Key == g.Key })
		switch {
		case i < 0:
			if len(next.StudentGroups) >= observation.MaxStudentGroups {
				return nil, observation.Invalid("student_group.key", observation.ReasonTooMany, "the district has %d student groups already; at most %d are allowed", len(next.StudentGroups), observation.MaxStudentGroups)
			}
			next.StudentGroups = append(next.StudentGroups, g)
			outcome = OutcomeCreated
		case next.StudentGroups[i] != g:
			next.StudentGroups[i] = g
			outcome = OutcomeUpdated
		default:
			return nil, nil
		}
		a := observation.Audit(p, d, "district.upsert_student_group", "student_group", g.Key, r.now())
		a.Details["changed"] = []string{"student_groups"}
		a.Details["before"] = cur.Settings
		a.Details["after"] = next
		cur.Settings = next
		return &a, nil
	})
	if err != nil {
		return observation.StudentGroup{}, "", err
	}
	return g, outcome, nil
}

// settingsFields are the fields of observation.DistrictSettings, as update masks and audit
// entries name them.
var settingsFields = []string{
	"school_year_start_month", "windows", "suppression_threshold", "min_teachers_per_cell",
	"proficiency_level", "network_opt_in", "student_groups", "languages",
}

// settingsMask turns update-mask paths into settingsFields names; none, or "*", is every field.
func settingsMask(paths []string) ([]string, error) {
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		return settingsFields, nil
	}
	var out []string
	for _, p := range paths {
		f := strings.TrimPrefix(strings.TrimSpace(p), "settings.")
		if !slices.Contains(settingsFields, f) {
			return nil, observation.Invalid("update_mask", reasonBadUpdateMask, "%s is not a district setting (one of %s)", observation.Clip(p), strings.Join(settingsFields, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// mergeSettings returns cur with the named fields (settingsFields names) taken from in.
func mergeSettings(cur, in observation.DistrictSettings, fields []string) observation.DistrictSettings {
	next := cloneSettings(cur)
	in = cloneSettings(in)
	for _, f := range fields {
		switch f {
		case "school_year_start_month":
			next.SchoolYearStartMonth = in.SchoolYearStartMonth
		case "windows":
			next.Windows = in.Windows
		case "suppression_threshold":
			next.SuppressionThreshold = in.SuppressionThreshold
		case "min_teachers_per_cell":
			next.MinTeachersPerCell = in.MinTeachersPerCell
		case "proficiency_level":
			next.ProficiencyLevel = in.ProficiencyLevel
		case "network_opt_in":
			next.NetworkOptIn = in.NetworkOptIn
		case "student_groups":
			next.StudentGroups = in.StudentGroups
		case "languages":
			next.Languages = in.Languages
		}
	}
	return next
}

// settingsDiff names the fields (settingsFields names) whose values differ between a and b; an
// empty list and no list are equal.
func settingsDiff(a, b observation.DistrictSettings) []string {
	ja, jb := settingsFieldJSON(a), settingsFieldJSON(b)
	var out []string
	for _, f := range settingsFields {
		if ja[f] != jb[f] {
			out = append(out, f)
		}
	}
	return out
}

func settingsFieldJSON(s observation.DistrictSettings) map[string]string {
	raw, _ := json.Marshal(s) // plain data: cannot fail
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func cloneSettings(s observation.DistrictSettings) observation.DistrictSettings {
	s.Windows = slices.Clone(s.Windows)
	s.StudentGroups = slices.Clone(s.StudentGroups)
	s.Languages = slices.Clone(s.Languages)
	return s
}
