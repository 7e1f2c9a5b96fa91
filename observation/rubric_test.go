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
