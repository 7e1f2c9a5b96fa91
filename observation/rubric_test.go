package observation

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// copyContent deep-copies rubric content by a JSON round trip.
func copyContent(t testing.TB, c RubricContent) RubricContent {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out RubricContent
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// namedText is one Text of rubric content and where it is.
type namedText struct {
	path string
	text Text
}

// textsOf lists every non-empty Text of c; the maps are c's own, so changing them changes c.
func textsOf(c *RubricContent) []namedText {
	var ts []namedText
	add := func(path string, t Text) {
		if len(t) > 0 {
			ts = append(ts, namedText{path, t})
		}
	}
	add("content.title", c.Title)
	add("content.description", c.Description)
	add("content.not_observed.label", c.NotObserved.Label)
	add("content.not_observed.description", c.NotObserved.Description)
	for i, d := range c.Dimensions {
		p := fmt.Sprintf("content.dimensions[%d]", i)
		add(p+".title", d.Title)
		add(p+".description", d.Description)
		for j, l := range d.Levels {
			add(fmt.Sprintf("%s.levels[%d].label", p, j), l.Label)
			add(fmt.Sprintf("%s.levels[%d].descriptor", p, j), l.Descriptor)
		}
	}
	for i, tc := range c.TallyCategories {
		p := fmt.Sprintf("content.tally_categories[%d]", i)
		add(p+".title", tc.Title)
		add(p+".description", tc.Description)
	}
	for i, f := range c.Participation {
		p := fmt.Sprintf("content.participation_fields[%d]", i)
		add(p+".title", f.Title)
		add(p+".description", f.Description)
		for j, o := range f.Options {
			add(fmt.Sprintf("%s.options[%d].label", p, j), o.Label)
		}
	}
	return ts
}

func keysOf[T any](xs []T, key func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = key(x)
	}
	return out
}

// assertInvalid checks that err is an *Error of kind invalid with the given field and reason.
func assertInvalid(t *testing.T, err error, field, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s at %s", reason, field)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	if e.Kind != KindInvalid || !errors.Is(err, ErrInvalid) {
		t.Errorf("kind = %v, want invalid", e.Kind)
	}
	if e.Field != field || e.Reason != reason {
		t.Errorf("got %s at %q (%v), want %s at %q", e.Reason, e.Field, err, reason, field)
	}
	if e.Message == "" {
		t.Errorf("empty message")
	}
}

func TestDefaultRubricIsValid(t *testing.T) {
	c := DefaultRubric()
	if err := ValidateRubricContent(c); err != nil {
		t.Fatalf("default rubric is invalid: %v", err)
	}
	if DefaultRubricID != "k8-academic-discourse" {
		t.Errorf("DefaultRubricID = %q", DefaultRubricID)
	}
	if err := ValidateID("rubric_id", DefaultRubricID); err != nil {
		t.Errorf("DefaultRubricID: %v", err)
	}
}

func TestDefaultRubricContent(t *testing.T) {
	c := DefaultRubric()
	if !slices.Equal(c.Languages, []string{"en", "es"}) {
		t.Errorf("languages = %v", c.Languages)
	}
	if c.MinLevel != 1 || c.MaxLevel != 4 || c.ProficiencyLevel != 3 {
		t.Errorf("levels = %d..%d, proficient %d", c.MinLevel, c.MaxLevel, c.ProficiencyLevel)
	}
	if c.NotObserved.Code != "NO" ||
		c.NotObserved.Description["en"] != "No whole-class or small-group mathematical discussion was observed" {
		t.Errorf("not observed = %+v", c.NotObserved)
	}
	dims := keysOf(c.Dimensions, func(d Dimension) string { return d.Key })
	if want := []string{"substance", "participation", "press", "explanation", "uptake", "ownership"}; !slices.Equal(dims, want) {
		t.Errorf("dimensions = %v, want %v", dims, want)
	}
	wantLabels := [][2]string{{"Beginning", "Inicial"}, {"Developing", "En proceso"}, {"Proficient", "Logrado"}, {"Exemplary", "Destacado"}}
	for _, d := range c.Dimensions {
		if !d.AllowNotObserved || d.NotComparable || len(d.Levels) != 4 {
			t.Errorf("dimension %s: allowNO=%v notComparable=%v levels=%d", d.Key, d.AllowNotObserved, d.NotComparable, len(d.Levels))
			continue
		}
		for j, l := range d.Levels {
			if l.Level != j+1 || l.Label["en"] != wantLabels[j][0] || l.Label["es"] != wantLabels[j][1] {
				t.Errorf("dimension %s level %d = %d %v", d.Key, j, l.Level, l.Label)
			}
		}
	}
	type tally struct {
		key     string
		speaker Speaker
		measure Measure
	}
	var got []tally
	for _, tc := range c.TallyCategories {
		got = append(got, tally{tc.Key, tc.Speaker, tc.Measure})
	}
	want := []tally{
		{"keeping_together", SpeakerTeacher, MeasureNone},
		{"relating_ideas", SpeakerTeacher, MeasureNone},
		{"restating", SpeakerTeacher, MeasureNone},
		{"revoicing", SpeakerTeacher, MeasureNone},
		{"press_accuracy", SpeakerTeacher, MeasurePress},
		{"press_reasoning", SpeakerTeacher, MeasurePress},
		{"relating_to_student", SpeakerStudent, MeasureNone},
		{"asking_for_information", SpeakerStudent, MeasureNone},
		{"making_claim", SpeakerStudent, MeasureNone},
		{"providing_evidence", SpeakerStudent, MeasureReasoning},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tallies = %v\nwant %v", got, want)
	}
	fields := map[string][]string{}
	var order []string
	for _, f := range c.Participation {
		order = append(order, f.Key)
		fields[f.Key] = keysOf(f.Options, func(o Option) string { return o.Key })
		if f.DistrictDefined != (f.Key == "student_group") {
			t.Errorf("field %s: district defined = %v", f.Key, f.DistrictDefined)
		}
	}
	if want := []string{"student_group", "selection", "length_band", "wait_time", "question_type"}; !slices.Equal(order, want) {
		t.Errorf("participation fields = %v, want %v", order, want)
	}
	for k, want := range map[string][]string{
		"student_group": {},
		"selection":     {"called_on", "volunteered"},
		"length_band":   {"words_1_4", "words_5_20", "words_21_plus"},
		"wait_time":     {"under_3s", "at_least_3s"},
		"question_type": {"how", "what", "why"},
	} {
		if !slices.Equal(fields[k], want) {
			t.Errorf("field %s options = %v, want %v", k, fields[k], want)
		}
	}
	for _, nt := range textsOf(&c) {
		if len(nt.text) != 2 || strings.TrimSpace(nt.text["en"]) == "" || strings.TrimSpace(nt.text["es"]) == "" {
			t.Errorf("%s = %v, want en and es", nt.path, nt.text)
		}
	}
}

func TestDefaultRubricIsFresh(t *testing.T) {
	a := DefaultRubric()
	a.Title["en"] = "changed"
	a.Dimensions[0].Levels[0].Descriptor["es"] = "cambiado"
	a.Languages[1] = "fr"
	b := DefaultRubric()
	if b.Title["en"] == "changed" || b.Dimensions[0].Levels[0].Descriptor["es"] == "cambiado" || b.Languages[1] != "es" {
		t.Fatal("DefaultRubric shares state between calls")
	}
}

func TestRubricHash(t *testing.T) {
	h := DefaultRubric().Hash()
	if len(h) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", h)
	}
	for range 5 {
		if got := DefaultRubric().Hash(); got != h {
			t.Fatalf("hash not stable: %s vs %s", got, h)
		}
	}
	if got := copyContent(t, DefaultRubric()).Hash(); got != h {
		t.Fatalf("hash changed by a JSON round trip: %s vs %s", got, h)
	}
	base := DefaultRubric()
	n := 0
	seen := map[string]string{h: "original"}
	for i, nt := range textsOf(&base) {
		for _, lang := range []string{"en", "es"} {
			c := copyContent(t, base)
			ts := textsOf(&c)
			ts[i].text[lang] += "."
			got := c.Hash()
			if prev, dup := seen[got]; dup {
				t.Errorf("changing %s.%s gives the same hash as %s", nt.path, lang, prev)
			}
			seen[got] = nt.path + "." + lang
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d texts changed; the walk missed some", n)
	}
	// Non-text changes count too.
	c := copyContent(t, base)
	c.Dimensions[5].AllowNotObserved = false
	if c.Hash() == h {
		t.Error("hash ignores allow_not_observed")
	}
	c = copyContent(t, base)
	c.Dimensions[0], c.Dimensions[1] = c.Dimensions[1], c.Dimensions[0]
	if c.Hash() == h {
		t.Error("hash ignores dimension order")
	}
}

func TestETagDiffersByLanguage(t *testing.T) {
	c := DefaultRubric()
	v := RubricVersion{OwnerID: NetworkOwner, RubricID: DefaultRubricID, Version: 1, Status: StatusPublished, Content: c, ContentHash: c.Hash()}
	en, es := v.ETag("en"), v.ETag("es")
	if en == es {
		t.Fatalf("ETag same for en and es: %s", en)
	}
	if en != `"`+c.Hash()+`.en"` || !strings.HasPrefix(es, `"`+c.Hash()) {
		t.Errorf("ETags = %s, %s", en, es)
	}
	if en != v.ETag("en") {
		t.Error("ETag not stable")
	}
}

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

func FuzzValidateRubricContent(f *testing.F) {
	seed := func(mutate func(c *RubricContent)) {
		c := copyContent(f, DefaultRubric())
		mutate(&c)
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(func(*RubricContent) {})
	seed(func(c *RubricContent) { delete(c.Dimensions[2].Levels[1].Descriptor, "es") })
	seed(func(c *RubricContent) { c.Languages = []string{"es", "en"} })
	seed(func(c *RubricContent) { c.MaxLevel = 10 })
	seed(func(c *RubricContent) { c.Dimensions[0].Levels[0].Level = 9 })
	seed(func(c *RubricContent) { c.TallyCategories[9].Measure = MeasurePress })
	seed(func(c *RubricContent) { c.Participation[0].Options = c.Participation[1].Options })
	seed(func(c *RubricContent) { c.Title["xx"] = "x"; c.NotObserved.Code = "" })
	seed(func(c *RubricContent) {
		c.Dimensions = c.Dimensions[:1]
		c.TallyCategories = nil
		c.Participation = nil
	})
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"languages":["en"],"title":{"en":"t"},"min_level":1,"max_level":2,"proficiency_level":2,` +
		`"dimensions":[{"key":"a","title":{"en":"a"},"levels":[{"level":2,"descriptor":{"en":"x"}},{"level":1,"descriptor":{"en":"y"}}]}],` +
		`"tally_categories":[]}`))
	f.Add([]byte(`{"languages":["en"],"title":{"en":"\ud800"},"min_level":1,"max_level":2,"proficiency_level":1,` +
		`"dimensions":[{"key":"a","title":{"en":"a","EN":"b"},"levels":[{"level":1,"descriptor":{"en":"x"}},{"level":2,"descriptor":{"en":"\u0000"}}]}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var c RubricContent
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		err := ValidateRubricContent(c)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Kind != KindInvalid || e.Field == "" || e.Reason == "" || e.Message == "" {
				t.Fatalf("malformed error %#v", e)
			}
			if strings.ToUpper(e.Reason) != e.Reason || strings.ContainsAny(e.Reason, " -") {
				t.Fatalf("reason %q is not UPPER_SNAKE", e.Reason)
			}
			if !strings.HasPrefix(e.Field, "content.") {
				t.Fatalf("field %q is not a content path", e.Field)
			}
			if err2 := ValidateRubricContent(c); err2.Error() != err.Error() {
				t.Fatalf("validation not deterministic: %v vs %v", err, err2)
			}
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("valid content does not encode: %v", err)
		}
		var c2 RubricContent
		if err := json.Unmarshal(b, &c2); err != nil {
			t.Fatalf("valid content does not decode: %v", err)
		}
		if h1, h2 := c.Hash(), c2.Hash(); h1 != h2 {
			t.Fatalf("hash changed by a JSON round trip: %s vs %s\n%s", h1, h2, b)
		}
		if err := ValidateRubricContent(c2); err != nil {
			t.Fatalf("round-tripped valid content is invalid: %v", err)
		}
	})
}

func FuzzNormalizeLanguage(f *testing.F) {
	for _, s := range []string{"", "en", "ES", "es-MX", "es-MX,es;q=0.9,en;q=0.8", "fr", "*", "es;q=0", "es;q=NaN", ",,;;==", "es;q=1e-400", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeLanguage(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeLanguage(%q) = %q with error %v", s, got, err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != "language" || e.Reason != "UNSUPPORTED_LANGUAGE" {
				t.Fatalf("NormalizeLanguage(%q) error %#v", s, err)
			}
			return
		}
		if !slices.Contains(supportedLanguages, got) {
			t.Fatalf("NormalizeLanguage(%q) = %q, not supported", s, got)
		}
		if again, err := NormalizeLanguage(got); err != nil || again != got {
			t.Fatalf("NormalizeLanguage(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}
