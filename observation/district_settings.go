package observation

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// SettingsFields are the fields of DistrictSettings, as update masks and audit entries name them.
var SettingsFields = []string{
	"school_year_start_month", "windows", "suppression_threshold", "min_teachers_per_cell",
	"proficiency_level", "network_opt_in", "student_groups", "languages",
}

// daysIn is the number of days of each month in any year (February counts 29, so a window may
// end on a leap day).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// ValidateDistrictSettings checks a district's settings and returns nil or the first violation as
// an *Error of kind KindInvalid, whose Field is the path of the offending value (for example
// "settings.suppression_threshold" or "settings.windows[1].end_day"). Privacy thresholds may never
// be set below the network's minimums.
func ValidateDistrictSettings(s DistrictSettings) error {
	const p = "settings."
	if s.SchoolYearStartMonth < 1 || s.SchoolYearStartMonth > 12 {
		return Invalid(p+"school_year_start_month", ReasonOutOfRange, "the school year's first month must be 1 to 12, got %d", s.SchoolYearStartMonth)
	}
	switch {
	case s.SuppressionThreshold < NetworkMinSuppression:
		return Invalid(p+"suppression_threshold", ReasonBelowNetworkMinimum,
			"the suppression threshold may not be below the network minimum of %d, got %d", NetworkMinSuppression, s.SuppressionThreshold)
	case s.SuppressionThreshold > MaxSuppressionSetting:
		return Invalid(p+"suppression_threshold", ReasonOutOfRange, "the suppression threshold may be at most %d, got %d", MaxSuppressionSetting, s.SuppressionThreshold)
	}
	switch {
	case s.MinTeachersPerCell < NetworkMinTeachers:
		return Invalid(p+"min_teachers_per_cell", ReasonBelowNetworkMinimum,
			"the minimum of distinct teachers per cell may not be below the network minimum of %d, got %d", NetworkMinTeachers, s.MinTeachersPerCell)
	case s.MinTeachersPerCell > MaxMinTeachersSetting:
		return Invalid(p+"min_teachers_per_cell", ReasonOutOfRange, "the minimum of distinct teachers per cell may be at most %d, got %d", MaxMinTeachersSetting, s.MinTeachersPerCell)
	}
	if s.ProficiencyLevel < 0 || s.ProficiencyLevel > maxRubricLevel {
		return Invalid(p+"proficiency_level", ReasonOutOfRange,
			"the proficiency level must be 0 (the rubric's own) or 1 to %d, got %d", maxRubricLevel, s.ProficiencyLevel)
	}
	if len(s.Windows) > MaxNamedWindows {
		return Invalid(p+"windows", ReasonTooMany, "%d windows; at most %d are allowed", len(s.Windows), MaxNamedWindows)
	}
	seen := map[string]bool{}
	for i, w := range s.Windows {
		wp := p + "windows[" + strconv.Itoa(i) + "]."
		if err := checkKey(wp+"key", w.Key, seen); err != nil {
			return err
		}
		if strings.TrimSpace(w.Title) == "" {
			return Invalid(wp+"title", ReasonRequired, "a title is required")
		}
		if err := checkText(wp+"title", w.Title, MaxSettingsTitleLength); err != nil {
			return err
		}
		if err := checkMonthDay(wp+"start", w.StartMonth, w.StartDay); err != nil {
			return err
		}
		if err := checkMonthDay(wp+"end", w.EndMonth, w.EndDay); err != nil {
			return err
		}
		if schoolYearDay(s.SchoolYearStartMonth, w.EndMonth, w.EndDay) < schoolYearDay(s.SchoolYearStartMonth, w.StartMonth, w.StartDay) {
			return Invalid(wp+"end_month", ReasonWindowOrder,
				"window %q ends (%02d-%02d) before it starts (%02d-%02d) in a school year that begins in month %d",
				w.Key, w.EndMonth, w.EndDay, w.StartMonth, w.StartDay, s.SchoolYearStartMonth)
		}
	}
	if len(s.StudentGroups) > MaxStudentGroups {
		return Invalid(p+"student_groups", ReasonTooMany, "%d student groups; at most %d are allowed", len(s.StudentGroups), MaxStudentGroups)
	}
	clear(seen)
	for i, g := range s.StudentGroups {
		gp := p + "student_groups[" + strconv.Itoa(i) + "]"
		if err := checkKey(gp+".key", g.Key, seen); err != nil {
			return err
		}
		if err := validateStudentGroup(gp, g); err != nil {
			return err
		}
	}
	if len(s.Languages) > MaxSettingsLanguages {
		return Invalid(p+"languages", ReasonTooMany, "%d languages; at most %d are allowed", len(s.Languages), MaxSettingsLanguages)
	}
	if err := validateLanguages(p+"languages", s.Languages); err != nil {
		return err
	}
	return nil
}

// validateStudentGroup checks one group definition at path.
func validateStudentGroup(path string, g StudentGroup) error {
	if err := checkKey(path+".key", g.Key, map[string]bool{}); err != nil {
		return err
	}
	if strings.TrimSpace(g.Label) == "" {
		return Invalid(path+".label", ReasonRequired, "a label is required")
	}
	if err := checkText(path+".label", g.Label, MaxSettingsTitleLength); err != nil {
		return err
	}
	return nil
}

func checkMonthDay(path string, month, day int) *Error {
	if month < 1 || month > 12 {
		return Invalid(path+"_month", ReasonOutOfRange, "month must be 1 to 12, got %d", month)
	}
	if day < 1 || day > daysIn[month] {
		return Invalid(path+"_day", ReasonBadDate, "month %d has no day %d", month, day)
	}
	return nil
}

// schoolYearDay orders a month-day within a school year that begins in startMonth.
func schoolYearDay(startMonth, month, day int) int {
	return ((month-startMonth+12)%12)*32 + day
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
			return nil, Invalid("update_mask", ReasonBadUpdateMask, "%s is not a district setting (one of %s)", clip(p), strings.Join(SettingsFields, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// MergeSettings returns cur with the named fields (SettingsFields names) taken from in.
func MergeSettings(cur, in DistrictSettings, fields []string) DistrictSettings {
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
func SettingsDiff(a, b DistrictSettings) []string {
	ja, jb := settingsFieldJSON(a), settingsFieldJSON(b)
	var out []string
	for _, f := range SettingsFields {
		if ja[f] != jb[f] {
			out = append(out, f)
		}
	}
	return out
}

func settingsFieldJSON(s DistrictSettings) map[string]string {
	raw, _ := json.Marshal(s) // plain data: cannot fail
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func cloneSettings(s DistrictSettings) DistrictSettings {
	s.Windows = slices.Clone(s.Windows)
	s.StudentGroups = slices.Clone(s.StudentGroups)
	s.Languages = slices.Clone(s.Languages)
	return s
}
