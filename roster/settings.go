package roster

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/lookfor-edu/lookfor/observation"
)

// SettingsFields are the fields of DistrictSettings, as update masks and audit entries name them.
var SettingsFields = []string{
	"school_year_start_month", "windows", "suppression_threshold", "min_teachers_per_cell",
	"proficiency_level", "network_opt_in", "student_groups", "languages",
}

// settingsMask turns update-mask paths into SettingsFields names; none, or "*", is every field.
func settingsMask(paths []string) ([]string, error) {
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		return SettingsFields, nil
	}
	var out []string
	for _, p := range paths {
		f := strings.TrimPrefix(strings.TrimSpace(p), "settings.")
		if !slices.Contains(SettingsFields, f) {
			return nil, observation.Invalid("update_mask", ReasonBadUpdateMask, "%s is not a district setting (one of %s)", observation.Clip(p), strings.Join(SettingsFields, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// MergeSettings returns cur with the named fields (SettingsFields names) taken from in.
func MergeSettings(cur, in observation.DistrictSettings, fields []string) observation.DistrictSettings {
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

// SettingsDiff names the fields (SettingsFields names) whose values differ between a and b; an
// empty list and no list are equal.
func SettingsDiff(a, b observation.DistrictSettings) []string {
	ja, jb := settingsFieldJSON(a), settingsFieldJSON(b)
	var out []string
	for _, f := range SettingsFields {
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
