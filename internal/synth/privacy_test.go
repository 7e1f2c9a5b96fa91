package synth

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// vetted returns every phrase the generator may write into a free-text field, by field: these
// tables are the whole vocabulary of generated evidence notes, lesson focus and next steps.
func vetted() (evidence, focus, steps []string) {
	for _, levels := range evidencePhrases {
		for _, list := range levels {
			evidence = append(evidence, list...)
		}
	}
	for _, list := range genericEvidence {
		evidence = append(evidence, list...)
	}
	evidence = append(evidence, noEvidencePhrases...)
	for _, list := range topicsByGrade {
		focus = append(focus, list...)
	}
	for _, list := range nextStepPhrases {
		steps = append(steps, list...)
	}
	steps = append(steps, genericNextSteps...)
	return evidence, focus, steps
}

// TestFreeTextFromVettedVocabulary: every free text of generated records (evidence notes, lesson
// focus, next steps) is one of the vetted phrases, or for next steps two of them — nothing is
// built from roster data or anything else, so the name checks below cover every text seed, the
// tablet simulator and the demo data can produce.
func TestFreeTextFromVettedVocabulary(t *testing.T) {
	evidence, focus, steps := vetted()
	f := newFixture()
	g := New(11)
	okSteps := func(s string) bool {
		if s == "" || slices.Contains(steps, s) {
			return true
		}
		for _, a := range steps {
			if rest, ok := strings.CutPrefix(s, a+" "); ok && slices.Contains(genericNextSteps, rest) {
				return true
			}
		}
		return false
	}
	for i, r := range g.Batch(3000, f.input(3000)) {
		if r.LessonFocus != "" && !slices.Contains(focus, r.LessonFocus) {
			t.Fatalf("record %d: lesson focus %q is not from the vetted vocabulary", i, r.LessonFocus)
		}
		if !okSteps(r.NextSteps) {
			t.Fatalf("record %d: next steps %q are not from the vetted vocabulary", i, r.NextSteps)
		}
		for _, s := range r.Scores {
			if s.Evidence != "" && !slices.Contains(evidence, s.Evidence) {
				t.Fatalf("record %d: evidence %q is not from the vetted vocabulary", i, s.Evidence)
			}
		}
	}
}

var wordRE = regexp.MustCompile(`[\p{L}\p{N}][\p{L}\p{N}'’-]*`)

// properWords are the capitalized words the vetted phrases may use other than at the start of a
// sentence or quotation: names of mathematics and of school routines, never of people.
var properWords = []string{"I", "Pythagorean", "PLC"}

// readNames reads testdata/first_names.txt, lower-cased.
func readNames(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("testdata/first_names.txt")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, n := range strings.Fields(line) {
			names[strings.ToLower(n)] = true
		}
	}
	if len(names) < 300 {
		t.Fatalf("only %d first names in the list", len(names))
	}
	return names
}

// nameLike returns the words of text that may name a person: a capitalized common first name
// anywhere, and any capitalized word inside a sentence that is not one of properWords.
func nameLike(text string, names map[string]bool) []string {
	var out []string
	for _, loc := range wordRE.FindAllStringIndex(text, -1) {
		w := strings.TrimSuffix(strings.TrimSuffix(text[loc[0]:loc[1]], "'s"), "’s")
		if !unicode.IsUpper([]rune(w)[0]) || strings.ContainsAny(w, "0123456789") {
			continue
		}
		if names[strings.ToLower(w)] || (!sentenceStart(text[:loc[0]]) && !slices.Contains(properWords, w)) {
			out = append(out, w)
		}
	}
	return out
}

// TestFreeTextHasNoNames: no vetted phrase names a student. No word of them is a common first
// name (testdata/first_names.txt), and a capitalized word inside a sentence must be one of
// properWords, so a name missing from the list fails too.
func TestFreeTextHasNoNames(t *testing.T) {
	names := readNames(t)
	evidence, focus, steps := vetted()
	for _, text := range slices.Concat(evidence, focus, steps) {
		if words := nameLike(text, names); len(words) > 0 {
			t.Errorf("%q may name someone: %v; rephrase (refer to \"a student\", \"a pair\"), or add a word that names no one to properWords", text, words)
		}
	}
}

// sentenceStart reports whether a word preceded by before starts a sentence or a quotation.
func sentenceStart(before string) bool {
	b := strings.TrimRight(before, " ")
	if b == "" {
		return true
	}
	switch b[len(b)-1] {
	case '.', '?', '!', '"', ':', ';', '(':
		return true
	}
	return strings.HasSuffix(b, "“") || strings.HasSuffix(b, "—")
}

// TestNameChecksCatchNames: the checks fail on texts naming a student, in or outside the list.
func TestNameChecksCatchNames(t *testing.T) {
	names := readNames(t)
	for text, want := range map[string]string{
		"Teacher asked \"Who agrees or disagrees with Maya, and why?\"": "Maya",
		"Maya explained her strategy.":                                  "Maya",
		"Then Zorblat explained the pattern.":                           "Zorblat",
	} {
		if got := nameLike(text, names); !slices.Contains(got, want) {
			t.Errorf("nameLike(%q) = %v, want %s among them", text, got, want)
		}
	}
	if got := nameLike("Naming and describing 2D shapes. The Pythagorean theorem.", names); len(got) > 0 {
		t.Errorf("names found in a text without any: %v", got)
	}
}
