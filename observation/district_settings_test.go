package observation

import (
	"errors"
	"testing"
)

func validSettings() DistrictSettings {
	s := DefaultDistrictSettings()
	s.Windows = []NamedWindow{
		{Key: "baseline", Title: "Baseline", StartMonth: 8, StartDay: 15, EndMonth: 10, EndDay: 15},
		{Key: "mid_year", Title: "Mid-year", StartMonth: 12, StartDay: 1, EndMonth: 2, EndDay: 29}, // wraps the new year
	}
	s.StudentGroups = []StudentGroup{{Key: "ml", Label: "Multilingual learners"}}
	return s
}

func TestValidateDistrictSettings(t *testing.T) {
	if err := ValidateDistrictSettings(validSettings()); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	if err := ValidateDistrictSettings(DefaultDistrictSettings()); err != nil {
		t.Fatalf("default settings: %v", err)
	}
	cases := []struct {
		name          string
		mutate        func(s *DistrictSettings)
		field, reason string
	}{
		{"start month 0", func(s *DistrictSettings) { s.SchoolYearStartMonth = 0 }, "settings.school_year_start_month", ReasonOutOfRange},
		{"start month 13", func(s *DistrictSettings) { s.SchoolYearStartMonth = 13 }, "settings.school_year_start_month", ReasonOutOfRange},
		{"suppression below network", func(s *DistrictSettings) { s.SuppressionThreshold = NetworkMinSuppression - 1 }, "settings.suppression_threshold", reasonBelowNetworkMinimum},
		{"suppression 0", func(s *DistrictSettings) { s.SuppressionThreshold = 0 }, "settings.suppression_threshold", reasonBelowNetworkMinimum},
		{"suppression huge", func(s *DistrictSettings) { s.SuppressionThreshold = maxSuppressionSetting + 1 }, "settings.suppression_threshold", ReasonOutOfRange},
		{"teachers below network", func(s *DistrictSettings) { s.MinTeachersPerCell = NetworkMinTeachers - 1 }, "settings.min_teachers_per_cell", reasonBelowNetworkMinimum},
		{"proficiency -1", func(s *DistrictSettings) { s.ProficiencyLevel = -1 }, "settings.proficiency_level", ReasonOutOfRange},
		{"proficiency 11", func(s *DistrictSettings) { s.ProficiencyLevel = 11 }, "settings.proficiency_level", ReasonOutOfRange},
		{"window key", func(s *DistrictSettings) { s.Windows[1].Key = "Mid Year" }, "settings.windows[1].key", reasonBadKey},
		{"window key twice", func(s *DistrictSettings) { s.Windows[1].Key = "baseline" }, "settings.windows[1].key", reasonDuplicateKey},
		{"window title", func(s *DistrictSettings) { s.Windows[0].Title = " " }, "settings.windows[0].title", ReasonRequired},
		{"window month", func(s *DistrictSettings) { s.Windows[0].StartMonth = 13 }, "settings.windows[0].start_month", ReasonOutOfRange},
		{"window day", func(s *DistrictSettings) { s.Windows[0].EndMonth, s.Windows[0].EndDay = 9, 31 }, "settings.windows[0].end_day", reasonBadDate},
		{"window backwards", func(s *DistrictSettings) { s.Windows[0].EndMonth, s.Windows[0].EndDay = 8, 1 }, "settings.windows[0].end_month", reasonWindowOrder},
		{"group key", func(s *DistrictSettings) { s.StudentGroups[0].Key = "" }, "settings.student_groups[0].key", ReasonRequired},
		{"group twice", func(s *DistrictSettings) {
			s.StudentGroups = append(s.StudentGroups, StudentGroup{Key: "ml", Label: "again"})
		}, "settings.student_groups[1].key", reasonDuplicateKey},
		{"group label", func(s *DistrictSettings) { s.StudentGroups[0].Label = "" }, "settings.student_groups[0].label", ReasonRequired},
		{"no languages", func(s *DistrictSettings) { s.Languages = nil }, "settings.languages", ReasonRequired},
		{"english not first", func(s *DistrictSettings) { s.Languages = []string{"es", "en"} }, "settings.languages[0]", reasonDefaultLanguage},
		{"bad language", func(s *DistrictSettings) { s.Languages = []string{"en", "Spanish"} }, "settings.languages[1]", reasonBadLanguage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSettings()
			c.mutate(&s)
			err := ValidateDistrictSettings(s)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != c.field || e.Reason != c.reason {
				t.Fatalf("got %v (%+v), want field %s reason %s", err, e, c.field, c.reason)
			}
		})
	}
}
