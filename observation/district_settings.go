package observation

import (
	"strconv"
	"strings"
)

// Limits of district settings.
const (
	MaxStudentGroups       = 50
	maxNamedWindows        = 24
	maxSettingsLanguages   = 8
	maxSuppressionSetting  = 1000 // the largest suppression threshold a district may set
	maxMinTeachersSetting  = 100  // the largest minimum of distinct teachers a district may set
	maxSettingsTitleLength = 200
)

// Reason codes of district-settings validation (and of range checks elsewhere in the domain).
// They are stable: clients may switch on them.
const (
	ReasonOutOfRange          = "OUT_OF_RANGE"          // a number is outside its allowed range
	reasonBelowNetworkMinimum = "BELOW_NETWORK_MINIMUM" // a privacy threshold below the network's minimum
	reasonBadDate             = "BAD_DATE"              // a month-day that does not exist
	reasonWindowOrder         = "WINDOW_ORDER"          // a window ends before it starts within the school year
)

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
		return Invalid(p+"suppression_threshold", reasonBelowNetworkMinimum,
			"the suppression threshold may not be below the network minimum of %d, got %d", NetworkMinSuppression, s.SuppressionThreshold)
	case s.SuppressionThreshold > maxSuppressionSetting:
		return Invalid(p+"suppression_threshold", ReasonOutOfRange, "the suppression threshold may be at most %d, got %d", maxSuppressionSetting, s.SuppressionThreshold)
	}
	switch {
	case s.MinTeachersPerCell < NetworkMinTeachers:
		return Invalid(p+"min_teachers_per_cell", reasonBelowNetworkMinimum,
			"the minimum of distinct teachers per cell may not be below the network minimum of %d, got %d", NetworkMinTeachers, s.MinTeachersPerCell)
	case s.MinTeachersPerCell > maxMinTeachersSetting:
		return Invalid(p+"min_teachers_per_cell", ReasonOutOfRange, "the minimum of distinct teachers per cell may be at most %d, got %d", maxMinTeachersSetting, s.MinTeachersPerCell)
	}
	if s.ProficiencyLevel < 0 || s.ProficiencyLevel > maxRubricLevel {
		return Invalid(p+"proficiency_level", ReasonOutOfRange,
			"the proficiency level must be 0 (the rubric's own) or 1 to %d, got %d", maxRubricLevel, s.ProficiencyLevel)
	}
	if len(s.Windows) > maxNamedWindows {
		return Invalid(p+"windows", ReasonTooMany, "%d windows; at most %d are allowed", len(s.Windows), maxNamedWindows)
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
		if err := checkText(wp+"title", w.Title, maxSettingsTitleLength); err != nil {
			return err
		}
		if err := checkMonthDay(wp+"start", w.StartMonth, w.StartDay); err != nil {
			return err
		}
		if err := checkMonthDay(wp+"end", w.EndMonth, w.EndDay); err != nil {
			return err
		}
		if schoolYearDay(s.SchoolYearStartMonth, w.EndMonth, w.EndDay) < schoolYearDay(s.SchoolYearStartMonth, w.StartMonth, w.StartDay) {
			return Invalid(wp+"end_month", reasonWindowOrder,
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
		if err := ValidateStudentGroup(gp, g); err != nil {
			return err
		}
	}
	if len(s.Languages) > maxSettingsLanguages {
		return Invalid(p+"languages", ReasonTooMany, "%d languages; at most %d are allowed", len(s.Languages), maxSettingsLanguages)
	}
	if err := validateLanguages(p+"languages", s.Languages); err != nil {
		return err
	}
	return nil
}

// ValidateStudentGroup checks one group definition at path (for example "student_group").
func ValidateStudentGroup(path string, g StudentGroup) error {
	if err := checkKey(path+".key", g.Key, map[string]bool{}); err != nil {
		return err
	}
	if strings.TrimSpace(g.Label) == "" {
		return Invalid(path+".label", ReasonRequired, "a label is required")
	}
	if err := checkText(path+".label", g.Label, maxSettingsTitleLength); err != nil {
		return err
	}
	return nil
}

func checkMonthDay(path string, month, day int) *Error {
	if month < 1 || month > 12 {
		return Invalid(path+"_month", ReasonOutOfRange, "month must be 1 to 12, got %d", month)
	}
	if day < 1 || day > daysIn[month] {
		return Invalid(path+"_day", reasonBadDate, "month %d has no day %d", month, day)
	}
	return nil
}

// schoolYearDay orders a month-day within a school year that begins in startMonth.
func schoolYearDay(startMonth, month, day int) int {
	return ((month-startMonth+12)%12)*32 + day
}
