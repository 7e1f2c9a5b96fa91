package observation

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestValidateRubricContent(t *testing.T) {
	long := strings.Repeat("ñ", maxTextLength) // 2000 characters, 4000 bytes: allowed
	manyOptions := func(n int) []Option {
		os := make([]Option, n)
		for i := range os {
			os[i] = Option{Key: fmt.Sprintf("o%d", i), Label: drText("o", "o")}
		}
		return os
	}
	tests := []struct {
		name   string
		mutate func(c *RubricContent)
		field  string // "" means valid
		reason string
	}{
		// languages
		{"languages missing", func(c *RubricContent) { c.Languages = nil }, "content.languages", "REQUIRED"},
		{"languages empty", func(c *RubricContent) { c.Languages = []string{} }, "content.languages", "REQUIRED"},
		{"en not first", func(c *RubricContent) { c.Languages = []string{"es", "en"} }, "content.languages[0]", "DEFAULT_LANGUAGE_NOT_FIRST"},
		{"language upper case", func(c *RubricContent) { c.Languages = []string{"en", "ES"} }, "content.languages[1]", "BAD_LANGUAGE"},
		{"language one letter", func(c *RubricContent) { c.Languages = []string{"en", "e"} }, "content.languages[1]", "BAD_LANGUAGE"},
		{"language four letters", func(c *RubricContent) { c.Languages = []string{"en", "span"} }, "content.languages[1]", "BAD_LANGUAGE"},
		{"language with region", func(c *RubricContent) { c.Languages = []string{"en", "es-mx"} }, "content.languages[1]", "BAD_LANGUAGE"},
		{"language empty", func(c *RubricContent) { c.Languages = []string{"en", ""} }, "content.languages[1]", "BAD_LANGUAGE"},
		{"first language bad", func(c *RubricContent) { c.Languages = []string{"EN"} }, "content.languages[0]", "BAD_LANGUAGE"},
		{"language duplicate", func(c *RubricContent) { c.Languages = []string{"en", "es", "es"} }, "content.languages[2]", "DUPLICATE_LANGUAGE"},
		{"en duplicate", func(c *RubricContent) { c.Languages = []string{"en", "es", "en"} }, "content.languages[2]", "DUPLICATE_LANGUAGE"},
		{"three-letter language allowed but untranslated", func(c *RubricContent) { c.Languages = append(c.Languages, "haw") }, "content.title.haw", "MISSING_TRANSLATION"},
		{"language dropped", func(c *RubricContent) { c.Languages = []string{"en"} }, "content.title.es", "UNKNOWN_LANGUAGE"},

		// title and description
		{"title missing", func(c *RubricContent) { c.Title = nil }, "content.title", "REQUIRED"},
		{"title empty map", func(c *RubricContent) { c.Title = Text{} }, "content.title", "REQUIRED"},
		{"title es missing", func(c *RubricContent) { delete(c.Title, "es") }, "content.title.es", "MISSING_TRANSLATION"},
		{"title en missing", func(c *RubricContent) { delete(c.Title, "en") }, "content.title.en", "MISSING_TRANSLATION"},
		{"title es blank", func(c *RubricContent) { c.Title["es"] = " \t\n" }, "content.title.es", "MISSING_TRANSLATION"},
		{"title es empty", func(c *RubricContent) { c.Title["es"] = "" }, "content.title.es", "MISSING_TRANSLATION"},
		{"title extra language", func(c *RubricContent) { c.Title["fr"] = "Discours" }, "content.title.fr", "UNKNOWN_LANGUAGE"},
		{"title extra languages sorted", func(c *RubricContent) { c.Title["fr"] = "x"; c.Title["de"] = "y"; c.Title["zz"] = "z" }, "content.title.de", "UNKNOWN_LANGUAGE"},
		{"title odd language key", func(c *RubricContent) { c.Title["a b"] = "x" }, `content.title["a b"]`, "UNKNOWN_LANGUAGE"},
		{"title empty language key", func(c *RubricContent) { c.Title[""] = "x" }, `content.title[""]`, "UNKNOWN_LANGUAGE"},
		{"title too long", func(c *RubricContent) { c.Title["en"] = long + "x" }, "content.title.en", "TOO_LONG"},
		{"title at length limit", func(c *RubricContent) { c.Title["en"] = long }, "", ""},
		{"title invalid utf-8", func(c *RubricContent) { c.Title["es"] = "a\xffb" }, "content.title.es", "INVALID_UTF8"},
		{"description optional", func(c *RubricContent) { c.Description = nil }, "", ""},
		{"description partial", func(c *RubricContent) { c.Description = Text{"en": "x"} }, "content.description.es", "MISSING_TRANSLATION"},
		{"description blank", func(c *RubricContent) { c.Description["en"] = "  " }, "content.description.en", "MISSING_TRANSLATION"},
		{"description too long", func(c *RubricContent) { c.Description["es"] = long + "." }, "content.description.es", "TOO_LONG"},

		// levels
		{"min level 0", func(c *RubricContent) { c.MinLevel = 0 }, "content.min_level", "LEVEL_OUT_OF_RANGE"},
		{"min level negative", func(c *RubricContent) { c.MinLevel = -1 }, "content.min_level", "LEVEL_OUT_OF_RANGE"},
		{"min level 10", func(c *RubricContent) { c.MinLevel, c.MaxLevel = 10, 10 }, "content.min_level", "LEVEL_OUT_OF_RANGE"},
		{"max equals min", func(c *RubricContent) { c.MaxLevel = 1 }, "content.max_level", "LEVEL_OUT_OF_RANGE"},
		{"max below min", func(c *RubricContent) { c.MinLevel, c.MaxLevel = 3, 2 }, "content.max_level", "LEVEL_OUT_OF_RANGE"},
		{"max 11", func(c *RubricContent) { c.MaxLevel = 11 }, "content.max_level", "LEVEL_OUT_OF_RANGE"},
		{"proficiency 0", func(c *RubricContent) { c.ProficiencyLevel = 0 }, "content.proficiency_level", "LEVEL_OUT_OF_RANGE"},
		{"proficiency above max", func(c *RubricContent) { c.ProficiencyLevel = 5 }, "content.proficiency_level", "LEVEL_OUT_OF_RANGE"},
		{"proficiency below min", func(c *RubricContent) { c.MinLevel, c.ProficiencyLevel = 2, 1 }, "content.proficiency_level", "LEVEL_OUT_OF_RANGE"},
		{"proficiency at max", func(c *RubricContent) { c.ProficiencyLevel = 4 }, "", ""},
		{"max raised, level 5 undescribed", func(c *RubricContent) { c.MaxLevel = 5 }, "content.dimensions[0].levels", "MISSING_LEVEL"},
		{"min raised, level 1 out of range", func(c *RubricContent) { c.MinLevel = 2 }, "content.dimensions[0].levels[0].level", "LEVEL_OUT_OF_RANGE"},
		{"scale 0..10 impossible", func(c *RubricContent) { c.MinLevel, c.MaxLevel = 0, 10 }, "content.min_level", "LEVEL_OUT_OF_RANGE"},

		// not observed
		{"no code missing", func(c *RubricContent) { c.NotObserved.Code = "" }, "content.not_observed.code", "REQUIRED"},
		{"no code lower case", func(c *RubricContent) { c.NotObserved.Code = "no" }, "content.not_observed.code", "BAD_CODE"},
		{"no code too long", func(c *RubricContent) { c.NotObserved.Code = "NOTOBSERV" }, "content.not_observed.code", "BAD_CODE"},
		{"no code 8 letters", func(c *RubricContent) { c.NotObserved.Code = "NOTOBSER" }, "", ""},
		{"no code digit", func(c *RubricContent) { c.NotObserved.Code = "N0" }, "content.not_observed.code", "BAD_CODE"},
		{"no label missing", func(c *RubricContent) { c.NotObserved.Label = nil }, "content.not_observed.label", "REQUIRED"},
		{"no label es missing", func(c *RubricContent) { delete(c.NotObserved.Label, "es") }, "content.not_observed.label.es", "MISSING_TRANSLATION"},
		{"no description partial", func(c *RubricContent) { delete(c.NotObserved.Description, "en") }, "content.not_observed.description.en", "MISSING_TRANSLATION"},
		{"no description optional", func(c *RubricContent) { c.NotObserved.Description = nil }, "", ""},
		{"no value unused and absent", func(c *RubricContent) {
			c.NotObserved = NotObservedValue{}
			for i := range c.Dimensions {
				c.Dimensions[i].AllowNotObserved = false
			}
		}, "", ""},
		{"no value unused but malformed", func(c *RubricContent) {
			c.NotObserved.Code = "x"
			for i := range c.Dimensions {
				c.Dimensions[i].AllowNotObserved = false
			}
		}, "content.not_observed.code", "BAD_CODE"},
		{"no value needed by one dimension", func(c *RubricContent) {
			c.NotObserved = NotObservedValue{}
			for i := range c.Dimensions {
				c.Dimensions[i].AllowNotObserved = i == 4
			}
		}, "content.not_observed.code", "REQUIRED"},

		// dimensions
		{"dimensions missing", func(c *RubricContent) { c.Dimensions = nil }, "content.dimensions", "REQUIRED"},
		{"40 dimensions", func(c *RubricContent) {
			for i := len(c.Dimensions); i < maxDimensions; i++ {
				d := copyContent(t, DefaultRubric()).Dimensions[0]
				d.Key = fmt.Sprintf("d%d", i)
				c.Dimensions = append(c.Dimensions, d)
			}
		}, "", ""},
		{"41 dimensions", func(c *RubricContent) {
			for i := len(c.Dimensions); i <= maxDimensions; i++ {
				d := copyContent(t, DefaultRubric()).Dimensions[0]
				d.Key = fmt.Sprintf("d%d", i)
				c.Dimensions = append(c.Dimensions, d)
			}
		}, "content.dimensions", "TOO_MANY"},
		{"dimension key missing", func(c *RubricContent) { c.Dimensions[1].Key = "" }, "content.dimensions[1].key", "REQUIRED"},
		{"dimension key upper case", func(c *RubricContent) { c.Dimensions[1].Key = "Press" }, "content.dimensions[1].key", "BAD_KEY"},
		{"dimension key digit first", func(c *RubricContent) { c.Dimensions[1].Key = "1press" }, "content.dimensions[1].key", "BAD_KEY"},
		{"dimension key hyphen", func(c *RubricContent) { c.Dimensions[1].Key = "press-reason" }, "content.dimensions[1].key", "BAD_KEY"},
		{"dimension key trailing newline", func(c *RubricContent) { c.Dimensions[1].Key = "press\n" }, "content.dimensions[1].key", "BAD_KEY"},
		{"dimension key 63 chars", func(c *RubricContent) { c.Dimensions[1].Key = "p" + strings.Repeat("x", 62) }, "", ""},
		{"dimension key 64 chars", func(c *RubricContent) { c.Dimensions[1].Key = "p" + strings.Repeat("x", 63) }, "content.dimensions[1].key", "BAD_KEY"},
		{"dimension key duplicate", func(c *RubricContent) { c.Dimensions[3].Key = "substance" }, "content.dimensions[3].key", "DUPLICATE_KEY"},
		{"dimension title missing", func(c *RubricContent) { c.Dimensions[2].Title = nil }, "content.dimensions[2].title", "REQUIRED"},
		{"dimension title es missing", func(c *RubricContent) { delete(c.Dimensions[2].Title, "es") }, "content.dimensions[2].title.es", "MISSING_TRANSLATION"},
		{"dimension description partial", func(c *RubricContent) { c.Dimensions[2].Description = Text{"es": "x"} }, "content.dimensions[2].description.en", "MISSING_TRANSLATION"},
		{"descriptor es missing", func(c *RubricContent) { delete(c.Dimensions[2].Levels[1].Descriptor, "es") }, "content.dimensions[2].levels[1].descriptor.es", "MISSING_TRANSLATION"},
		{"descriptor missing", func(c *RubricContent) { c.Dimensions[2].Levels[1].Descriptor = nil }, "content.dimensions[2].levels[1].descriptor", "REQUIRED"},
		{"descriptor extra language", func(c *RubricContent) { c.Dimensions[2].Levels[1].Descriptor["pt"] = "x" }, "content.dimensions[2].levels[1].descriptor.pt", "UNKNOWN_LANGUAGE"},
		{"descriptor too long", func(c *RubricContent) { c.Dimensions[5].Levels[3].Descriptor["es"] = long + "!" }, "content.dimensions[5].levels[3].descriptor.es", "TOO_LONG"},
		{"level label optional", func(c *RubricContent) { c.Dimensions[0].Levels[0].Label = nil }, "", ""},
		{"level label partial", func(c *RubricContent) { delete(c.Dimensions[0].Levels[2].Label, "es") }, "content.dimensions[0].levels[2].label.es", "MISSING_TRANSLATION"},
		{"level duplicate", func(c *RubricContent) { c.Dimensions[0].Levels[3].Level = 2 }, "content.dimensions[0].levels[3].level", "DUPLICATE_LEVEL"},
		{"level extra", func(c *RubricContent) {
			c.Dimensions[4].Levels = append(c.Dimensions[4].Levels, LevelDescriptor{Level: 5, Descriptor: drText("x", "x")})
		}, "content.dimensions[4].levels[4].level", "LEVEL_OUT_OF_RANGE"},
		{"level zero", func(c *RubricContent) { c.Dimensions[4].Levels[0].Level = 0 }, "content.dimensions[4].levels[0].level", "LEVEL_OUT_OF_RANGE"},
		{"level missing", func(c *RubricContent) { c.Dimensions[4].Levels = c.Dimensions[4].Levels[:3] }, "content.dimensions[4].levels", "MISSING_LEVEL"},
		{"levels missing", func(c *RubricContent) { c.Dimensions[4].Levels = nil }, "content.dimensions[4].levels", "MISSING_LEVEL"},
		{"levels out of order allowed", func(c *RubricContent) {
			l := c.Dimensions[0].Levels
			l[0], l[3] = l[3], l[0]
		}, "", ""},

		// tally categories
		{"tallies optional", func(c *RubricContent) { c.TallyCategories = nil }, "", ""},
		{"60 tallies", func(c *RubricContent) {
			for i := len(c.TallyCategories); i < maxTallyCategories; i++ {
				c.TallyCategories = append(c.TallyCategories, TallyCategory{Key: fmt.Sprintf("t%d", i), Speaker: SpeakerStudent, Title: drText("t", "t")})
			}
		}, "", ""},
		{"61 tallies", func(c *RubricContent) {
			for i := len(c.TallyCategories); i <= maxTallyCategories; i++ {
				c.TallyCategories = append(c.TallyCategories, TallyCategory{Key: fmt.Sprintf("t%d", i), Speaker: SpeakerStudent, Title: drText("t", "t")})
			}
		}, "content.tally_categories", "TOO_MANY"},
		{"tally key missing", func(c *RubricContent) { c.TallyCategories[0].Key = "" }, "content.tally_categories[0].key", "REQUIRED"},
		{"tally key bad", func(c *RubricContent) { c.TallyCategories[0].Key = "keeping together" }, "content.tally_categories[0].key", "BAD_KEY"},
		{"tally key duplicate", func(c *RubricContent) { c.TallyCategories[7].Key = "restating" }, "content.tally_categories[7].key", "DUPLICATE_KEY"},
		{"tally key may equal a dimension key", func(c *RubricContent) { c.TallyCategories[0].Key = "press" }, "", ""},
		{"tally speaker unknown", func(c *RubricContent) { c.TallyCategories[2].Speaker = "coach" }, "content.tally_categories[2].speaker", "BAD_SPEAKER"},
		{"tally speaker missing", func(c *RubricContent) { c.TallyCategories[2].Speaker = "" }, "content.tally_categories[2].speaker", "BAD_SPEAKER"},
		{"tally speaker upper case", func(c *RubricContent) { c.TallyCategories[2].Speaker = "Teacher" }, "content.tally_categories[2].speaker", "BAD_SPEAKER"},
		{"tally title missing", func(c *RubricContent) { c.TallyCategories[3].Title = nil }, "content.tally_categories[3].title", "REQUIRED"},
		{"tally title es missing", func(c *RubricContent) { delete(c.TallyCategories[3].Title, "es") }, "content.tally_categories[3].title.es", "MISSING_TRANSLATION"},
		{"tally description partial", func(c *RubricContent) { delete(c.TallyCategories[3].Description, "es") }, "content.tally_categories[3].description.es", "MISSING_TRANSLATION"},
		{"tally measure unknown", func(c *RubricContent) { c.TallyCategories[0].Measure = "accuracy" }, "content.tally_categories[0].measure", "BAD_MEASURE"},
		{"teacher reasoning measure", func(c *RubricContent) { c.TallyCategories[5].Measure = MeasureReasoning }, "content.tally_categories[5].measure", "BAD_MEASURE"},
		{"student press measure", func(c *RubricContent) { c.TallyCategories[9].Measure = MeasurePress }, "content.tally_categories[9].measure", "BAD_MEASURE"},
		{"measure removed", func(c *RubricContent) { c.TallyCategories[9].Measure = MeasureNone }, "", ""},

		// participation fields
		{"participation optional", func(c *RubricContent) { c.Participation = nil }, "", ""},
		{"field key missing", func(c *RubricContent) { c.Participation[1].Key = "" }, "content.participation_fields[1].key", "REQUIRED"},
		{"field key bad", func(c *RubricContent) { c.Participation[1].Key = "Selection" }, "content.participation_fields[1].key", "BAD_KEY"},
		{"field key duplicate", func(c *RubricContent) { c.Participation[4].Key = "wait_time" }, "content.participation_fields[4].key", "DUPLICATE_KEY"},
		{"field title missing", func(c *RubricContent) { c.Participation[0].Title = nil }, "content.participation_fields[0].title", "REQUIRED"},
		{"field title es blank", func(c *RubricContent) { c.Participation[0].Title["es"] = " " }, "content.participation_fields[0].title.es", "MISSING_TRANSLATION"},
		{"field description extra language", func(c *RubricContent) { c.Participation[3].Description["fr"] = "x" }, "content.participation_fields[3].description.fr", "UNKNOWN_LANGUAGE"},
		{"district-defined with options", func(c *RubricContent) { c.Participation[0].Options = manyOptions(2) }, "content.participation_fields[0].options", "OPTIONS_NOT_ALLOWED"},
		{"no options", func(c *RubricContent) { c.Participation[1].Options = nil }, "content.participation_fields[1].options", "TOO_FEW"},
		{"one option", func(c *RubricContent) { c.Participation[1].Options = c.Participation[1].Options[:1] }, "content.participation_fields[1].options", "TOO_FEW"},
		{"20 options", func(c *RubricContent) { c.Participation[1].Options = manyOptions(20) }, "", ""},
		{"21 options", func(c *RubricContent) { c.Participation[1].Options = manyOptions(21) }, "content.participation_fields[1].options", "TOO_MANY"},
		{"option key missing", func(c *RubricContent) { c.Participation[2].Options[0].Key = "" }, "content.participation_fields[2].options[0].key", "REQUIRED"},
		{"option key bad", func(c *RubricContent) { c.Participation[2].Options[0].Key = "1-4" }, "content.participation_fields[2].options[0].key", "BAD_KEY"},
		{"option key duplicate", func(c *RubricContent) { c.Participation[2].Options[1].Key = "words_1_4" }, "content.participation_fields[2].options[1].key", "DUPLICATE_KEY"},
		{"option key repeated across fields", func(c *RubricContent) { c.Participation[2].Options[0].Key = "how" }, "", ""},
		{"option label missing", func(c *RubricContent) { c.Participation[4].Options[2].Label = nil }, "content.participation_fields[4].options[2].label", "REQUIRED"},
		{"option label es missing", func(c *RubricContent) { delete(c.Participation[4].Options[2].Label, "es") }, "content.participation_fields[4].options[2].label.es", "MISSING_TRANSLATION"},
		{"option label too long", func(c *RubricContent) { c.Participation[4].Options[2].Label["en"] = long + "?" }, "content.participation_fields[4].options[2].label.en", "TOO_LONG"},

		// first violation wins, in declaration order
		{"title before levels", func(c *RubricContent) { c.Title = nil; c.MinLevel = 0 }, "content.title", "REQUIRED"},
		{"languages before title", func(c *RubricContent) { c.Title = nil; c.Languages = nil }, "content.languages", "REQUIRED"},
		{"dimension before tally", func(c *RubricContent) {
			c.TallyCategories[0].Speaker = "x"
			delete(c.Dimensions[5].Title, "en")
		}, "content.dimensions[5].title.en", "MISSING_TRANSLATION"},
		{"key before title", func(c *RubricContent) { c.Dimensions[1].Title = nil; c.Dimensions[1].Key = "" }, "content.dimensions[1].key", "REQUIRED"},
		{"earlier dimension first", func(c *RubricContent) {
			c.Dimensions[3].Levels = nil
			c.Dimensions[1].Levels[2].Descriptor["es"] = ""
		}, "content.dimensions[1].levels[2].descriptor.es", "MISSING_TRANSLATION"},
		{"listed languages in order", func(c *RubricContent) { c.Title = Text{"xx": "x"} }, "content.title.en", "MISSING_TRANSLATION"},
		{"tally before participation", func(c *RubricContent) {
			c.Participation[1].Options = nil
			c.TallyCategories[9].Measure = "x"
		}, "content.tally_categories[9].measure", "BAD_MEASURE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := copyContent(t, DefaultRubric())
			tt.mutate(&c)
			for range 3 { // deterministic despite map iteration order
				err := ValidateRubricContent(c)
				if tt.field == "" {
					if err != nil {
						t.Fatalf("want valid, got %v", err)
					}
					continue
				}
				assertInvalid(t, err, tt.field, tt.reason)
			}
		})
	}
}

func TestValidateRubricContentReturnsUntypedNil(t *testing.T) {
	var err error = ValidateRubricContent(DefaultRubric())
	if err != nil {
		t.Fatalf("got %#v", err)
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "0", "district-7", "sfusd.k8", "Site_12", "urn:district:42", "network", "Network", strings.Repeat("a", 128)} {
		if err := ValidateID("site_id", id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, tt := range []struct{ id, reason string }{
		{"", "REQUIRED"},
		{strings.Repeat("a", 129), "BAD_ID"},
		{"-a", "BAD_ID"},
		{".a", "BAD_ID"},
		{"_a", "BAD_ID"},
		{"a b", "BAD_ID"},
		{"a/b", "BAD_ID"},
		{"a\n", "BAD_ID"},
		{"Nöe", "BAD_ID"},
		{" a", "BAD_ID"},
	} {
		assertInvalid(t, ValidateID("site_id", tt.id), "site_id", tt.reason)
	}

	for _, id := range []string{"d1", "networks", "net-work", "my.network"} {
		if err := ValidateDistrictID("district_id", id); err != nil {
			t.Errorf("ValidateDistrictID(%q) = %v", id, err)
		}
	}
	assertInvalid(t, ValidateDistrictID("district_id", "network"), "district_id", "RESERVED_ID")
	assertInvalid(t, ValidateDistrictID("district_id", "NETWORK"), "district_id", "RESERVED_ID")
	assertInvalid(t, ValidateDistrictID("district_id", ""), "district_id", "REQUIRED")
	assertInvalid(t, ValidateDistrictID("district_id", "net work"), "district_id", "BAD_ID")
	if ValidateDistrictID("district_id", NetworkOwner) == nil {
		t.Error("NetworkOwner accepted as a district id")
	}
}

func TestNormalizeLanguage(t *testing.T) {
	if !slices.Equal(supportedLanguages, []string{"en", "es"}) {
		t.Fatalf("supportedLanguages = %v", supportedLanguages)
	}
	for in, want := range map[string]string{
		"":                          "en",
		"   ":                       "en",
		",":                         "en",
		";q=1":                      "en",
		"en":                        "en",
		"es":                        "es",
		"ES":                        "es",
		"Es":                        "es",
		"en-US":                     "en",
		"en-GB":                     "en",
		"es-MX":                     "es",
		"es-419":                    "es",
		"es_MX":                     "es",
		" es-mx ":                   "es",
		"es-MX,es;q=0.9,en;q=0.8":   "es",
		"en-US,en;q=0.9,es;q=0.8":   "en",
		"fr-FR,fr;q=0.9,es;q=0.8":   "es",
		"fr;q=0.9,en;q=0.5,es;q=.7": "es",
		"en;q=0.5,es":               "es",
		"es;q=0.5,en;q=0.5":         "es",
		"es;q=0,en":                 "en",
		"*":                         "en",
		"fr,*;q=0.1":                "en",
		"es;Q=1.0":                  "es",
		"es; q=0.9":                 "es",
		"es;level=1":                "es",
		"es;q=2,en":                 "en",
		"es;q=abc,en;q=0.1":         "en",
		"zh-Hant-TW, en-US;q=0.3":   "en",
		"vi, es":                    "es",
	} {
		got, err := NormalizeLanguage(in)
		if err != nil || got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fr", "fr-FR", "zh-CN,zh;q=0.9", "english", "es;q=0", "en;q=0,es;q=0", "es;q=-1", "es;q=NaN", "e", "-es"} {
		got, err := NormalizeLanguage(in)
		if got != "" {
			t.Errorf("NormalizeLanguage(%q) = %q, want \"\"", in, got)
		}
		assertInvalid(t, err, "language", "UNSUPPORTED_LANGUAGE")
	}
}
