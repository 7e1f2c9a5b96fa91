// Package synth generates realistic synthetic classroom observations for the tablet simulator,
// benchmarks and seeding. Every record it makes passes observation.ValidateRecord against the
// inputs it was made from.
//
// The model, in brief: each lesson has a latent quality per rubric dimension that rises over the
// school year (about 1.8 at the start to about 2.8 by the end on a 1-4 scale), with a stable
// per-classroom (teacher) effect, a lesson effect and small per-dimension offsets. The observer
// sees it through their leniency and some noise. Discussion minutes, talk-move tallies and
// participation counts follow the levels: more press → more press moves, broader participation →
// contributions closer to parity with enrolment. Calibration co-observations of the same lesson
// (same classroom and time) share the co-observation key and the lesson, so two observers' scores
// differ only by their leniency and noise.
//
// It is a development tool: it may import any lookfor package; only cmd/, other development
// tools and tests import it.
package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/lookfor-edu/lookfor/observation"
)

// Input describes the observation to generate.
type Input struct {
	Classroom       observation.Classroom
	Observer        observation.Principal
	Rubric          observation.RubricVersion
	StudentGroups   []observation.StudentGroup // the district's groups
	When            time.Time                  // start of the observed lesson
	SchoolYearStart time.Time                  // zero: 1 August on or before When
	Leniency        float64                    // observer bias in levels, e.g. -0.4..+0.4
	Kind            observation.ObservationKind
	Status          observation.RecordStatus // zero: submitted
}

// Generator makes synthetic records. Equal seeds and equal inputs give equal records. A
// Generator is not safe for concurrent use.
type Generator struct {
	rng *rand.Rand
}

// New returns a generator seeded with seed.
func New(seed int64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x6c6f6f6b666f72))}
}

// Batch generates n records, the i-th from in(i).
func (g *Generator) Batch(n int, in func(i int) Input) []observation.Record {
	out := make([]observation.Record, 0, max(n, 0))
	for i := 0; i < n; i++ {
		out = append(out, g.Record(in(i)))
	}
	return out
}

// Model constants.
const (
	schoolYearDays  = 300.0 // August to June, in calendar days
	startMean       = 1.8   // mean level on the first day (1-4 scale)
	yearGain        = 1.0   // mean gain over the school year
	classroomSpread = 0.35  // half-width of the stable per-classroom effect
	lessonSD        = 0.35  // lesson-to-lesson variation shared by all dimensions
	dimensionSD     = 0.30  // lesson variation of one dimension
	observerSD      = 0.30  // observer noise per score
	noLessonShare   = 0.03  // lessons without any discussion: every dimension not observed
	noDimShare      = 0.05  // otherwise, chance a dimension is not observed
)

// dimensionOffset makes some dimensions typically harder than others (they sum to zero).
var dimensionOffset = map[string]float64{
	"substance": 0.10, "participation": 0.20, "press": 0, "explanation": -0.05, "uptake": -0.10, "ownership": -0.15,
}

// tallyRate is the typical count per discussion minute of a default-rubric talk move at level 2.5.
var tallyRate = map[string]float64{
	"keeping_together": 0.25, "relating_ideas": 0.30, "restating": 0.30, "revoicing": 0.35,
	"press_accuracy": 0.30, "press_reasoning": 0.35,
	"relating_to_student": 0.25, "asking_for_information": 0.15, "making_claim": 0.60, "providing_evidence": 0.35,
}

// Record generates one observation of in.Classroom by in.Observer.
func (g *Generator) Record(in Input) observation.Record {
	rv := in.Rubric
	content := &rv.Content
	when := in.When
	if when.IsZero() {
		when = time.Date(2025, 10, 7, 9, 30, 0, 0, time.UTC)
	}
	when = when.UTC()
	start := in.SchoolYearStart
	if start.IsZero() {
		start = schoolYearStart(when)
	}
	progress := clamp(when.Sub(start).Hours()/24/schoolYearDays, 0, 1)

	kind := in.Kind
	if kind == "" {
		kind = g.pickKind()
	}
	status := in.Status
	if status == "" {
		status = observation.RecordSubmitted
	}
	role := in.Observer.Role
	switch role {
	case observation.RoleCoach, observation.RolePrincipal, observation.RoleDistrictAdmin, observation.RoleAdmin:
	default:
		role = observation.RoleCoach
	}
	cl := in.Classroom
	r := observation.Record{
		ID:            g.uuidV7(when),
		DistrictID:    cl.DistrictID,
		SiteID:        cl.SiteID,
		ClassroomID:   cl.ID,
		Course:        cl.Course,
		Grade:         cl.Grade,
		Section:       cl.Section,
		TeacherID:     cl.TeacherID,
		ObserverID:    in.Observer.UserID,
		ObserverRole:  role,
		Kind:          kind,
		RubricID:      rv.RubricID,
		RubricVersion: rv.Version,
		Language:      observation.DefaultLanguage,
		StartedAt:     when,
		Status:        status,
	}

	// The lesson: shared by both observers of a calibration co-observation.
	lesson := g.rng
	if kind == observation.KindCalibration {
		r.CoObservation = coObservationKey(cl, when)
		sum := sha256.Sum256([]byte(r.CoObservation))
		lesson = rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
	}
	base := startMean + yearGain*progress + classroomSpread*hashUnit("classroom/"+cl.DistrictID+"/"+cl.ID) +
		lessonSD*lesson.NormFloat64()
	r.DurationMin = 20 + lesson.IntN(41)
	allowNO := len(content.Dimensions) > 0
	for _, d := range content.Dimensions {
		allowNO = allowNO && d.AllowNotObserved
	}
	noDiscussion := lesson.Float64() < noLessonShare && allowNO
	latent := make([]float64, len(content.Dimensions))
	notObserved := make([]bool, len(content.Dimensions))
	for i, d := range content.Dimensions {
		latent[i] = base + dimensionOffset[d.Key] + dimensionSD*lesson.NormFloat64()
		notObserved[i] = d.AllowNotObserved && (noDiscussion || lesson.Float64() < noDimShare)
	}
	discussionShare := clamp(0.22+0.10*(base-2.3)+0.07*lesson.NormFloat64(), 0.05, 0.85)
	enrolment := enrol(lesson, in.StudentGroups)

	// The observer's view.
	seen := make(map[string]float64, len(content.Dimensions)) // dimension → perceived level on 1-4
	// The lists are made at their final sizes (a list with nothing in it stays nil, as its JSON
	// is null): growing them by appends was a quarter of a record's generation.
	if n := len(content.Dimensions); n > 0 {
		r.Scores = make([]observation.Score, 0, n)
	}
	if n := len(content.TallyCategories); n > 0 {
		r.Tallies = make([]observation.Tally, 0, n)
	}
	if n := len(in.StudentGroups); n > 0 {
		r.Enrolment = make([]observation.Enrolment, 0, n)
	}
	var sum float64
	var n int
	for i, d := range content.Dimensions {
		if notObserved[i] {
			r.Scores = append(r.Scores, observation.Score{Dimension: d.Key, NotObserved: true, Evidence: g.noEvidence()})
			continue
		}
		x := clamp(latent[i]+in.Leniency+observerSD*g.rng.NormFloat64(), 1, 4)
		seen[d.Key] = x
		sum += x
		n++
		level := scaleLevel(x, content.MinLevel, content.MaxLevel)
		r.Scores = append(r.Scores, observation.Score{Dimension: d.Key, Level: level, Evidence: g.evidence(d.Key, x)})
	}
	overall := clamp(base+in.Leniency, 1, 4)
	if n > 0 {
		overall = sum / float64(n)
	}
	level := func(key string) float64 {
		if x, ok := seen[key]; ok {
			return x
		}
		return overall
	}

	if !noDiscussion {
		r.DiscussionMin = min(max(1, int(math.Round(discussionShare*float64(r.DurationMin)))), r.DurationMin)
	}
	contributions, students := 0, false
	for _, c := range content.TallyCategories {
		lvl := overall
		switch {
		case c.Measure == observation.MeasurePress:
			lvl = level("press")
		case c.Measure == observation.MeasureReasoning:
			lvl = level("explanation")
		case c.Key == "relating_ideas" || c.Key == "relating_to_student":
			lvl = level("uptake")
		case c.Key == "asking_for_information":
			lvl = level("ownership")
		}
		rate, ok := tallyRate[c.Key]
		if !ok {
			rate = 0.3
		}
		count := min(poisson(g.rng, rate*float64(r.DiscussionMin)*(0.4+0.4*(lvl-1))), observation.MaxRecordCount)
		r.Tallies = append(r.Tallies, observation.Tally{Category: c.Key, Count: count})
		if c.Speaker == observation.SpeakerStudent {
			contributions += count
			students = true
		}
	}
	if !students && r.DiscussionMin > 0 {
		contributions = poisson(g.rng, 1.2*float64(r.DiscussionMin)*(0.4+0.4*(level("participation")-1)))
	}
	contributions = min(contributions, observation.MaxRecordCount)

	for i, grp := range in.StudentGroups {
		r.Enrolment = append(r.Enrolment, observation.Enrolment{Group: grp.Key, Count: enrolment[i]})
	}
	if contributions > 0 {
		r.Participation = g.participation(content.Participation, in.StudentGroups, enrolment, contributions, level)
	}

	r.LessonFocus = g.lessonFocus(cl.Grade)
	r.NextSteps = g.nextSteps(content, seen)
	r.RecordedAt = when.Add(time.Duration(r.DurationMin+g.rng.IntN(40)) * time.Minute)

	if status == observation.RecordDraft { // a draft in progress: some scores and notes still to come
		r.Scores = r.Scores[:g.rng.IntN(len(r.Scores)+1)]
		if g.rng.IntN(2) == 0 {
			r.NextSteps = ""
		}
	}
	return r
}

// schoolYearStart is 1 August on or before t.
func schoolYearStart(t time.Time) time.Time {
	y := t.Year()
	if t.Month() < time.August {
		y--
	}
	return time.Date(y, time.August, 1, 0, 0, 0, 0, time.UTC)
}

func (g *Generator) pickKind() observation.ObservationKind {
	switch x := g.rng.Float64(); {
	case x < 0.40:
		return observation.KindWalkthrough
	case x < 0.75:
		return observation.KindInformal
	default:
		return observation.KindFormal
	}
}

// uuidV7 builds a version 7 UUID from t's Unix milliseconds and random bits from the generator,
// so that ids are time-ordered like a tablet's and reproducible for a seed.
func (g *Generator) uuidV7(t time.Time) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	binary.BigEndian.PutUint64(u[6:14], g.rng.Uint64())
	binary.BigEndian.PutUint16(u[14:16], uint16(g.rng.Uint32()))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return u.String()
}

// coObservationKey is the key both observers of a calibration lesson share: the lesson is
// identified by its classroom and start time.
func coObservationKey(cl observation.Classroom, when time.Time) string {
	sum := sha256.Sum256([]byte(cl.DistrictID + "\x00" + cl.ID + "\x00" + strconv.FormatInt(when.Unix(), 10)))
	return "cal-" + hex.EncodeToString(sum[:10])
}

// hashUnit maps s to a stable value in [-1, 1).
func hashUnit(s string) float64 {
	sum := sha256.Sum256([]byte(s))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/(1<<53)*2 - 1
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// scaleLevel maps x on the 1-4 scale to the nearest level of lo..hi.
func scaleLevel(x float64, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	l := int(math.Round(float64(lo) + (x-1)*float64(hi-lo)/3))
	return min(max(l, lo), hi)
}

// poisson draws a Poisson count with mean lambda (normal approximation for large means).
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// enrol draws the students present per group: 2-12 each, about 20-32 in all.
func enrol(rng *rand.Rand, groups []observation.StudentGroup) []int {
	counts := make([]int, len(groups))
	if len(groups) == 0 {
		return counts
	}
	weights := make([]float64, len(groups))
	for i, grp := range groups {
		counts[i] = 2
		weights[i] = 1.2 + hashUnit("group-size/"+grp.Key) + 0.5*rng.Float64()
	}
	for rest := 20 + rng.IntN(13) - 2*len(groups); rest > 0; rest-- {
		i := pick(rng, weights, func(i int) bool { return counts[i] < 12 })
		if i < 0 {
			break
		}
		counts[i]++
	}
	return counts
}

// pick draws an index with probability proportional to weights among those ok accepts; -1 when
// none is acceptable.
func pick(rng *rand.Rand, weights []float64, ok func(int) bool) int {
	var total float64
	for i, w := range weights {
		if ok == nil || ok(i) {
			total += w
		}
	}
	if total <= 0 {
		return -1
	}
	x := rng.Float64() * total
	last := -1
	for i, w := range weights {
		if ok != nil && !ok(i) {
			continue
		}
		last = i
		if x < w {
			return i
		}
		x -= w
	}
	return last
}

// split distributes n contributions over weights (multinomial).
func split(rng *rand.Rand, n int, weights []float64) []int {
	counts := make([]int, len(weights))
	for range n {
		if i := pick(rng, weights, nil); i >= 0 {
			counts[i]++
		}
	}
	return counts
}

// participation codes every contribution once per participation field, so each field's counts
// sum to the same total.
func (g *Generator) participation(fields []observation.ParticipationField, groups []observation.StudentGroup,
	enrolment []int, total int, level func(string) float64) []observation.ParticipationCount {
	var out []observation.ParticipationCount
	size := 0
	for _, f := range fields {
		if f.DistrictDefined {
			size += len(groups)
		} else {
			size += len(f.Options)
		}
	}
	if size > 0 {
		out = make([]observation.ParticipationCount, 0, size)
	}
	breadth, press, expl := level("participation"), level("press"), level("explanation")
	for _, f := range fields {
		if f.DistrictDefined {
			if len(groups) == 0 {
				continue
			}
			// Groups the class tends to leave out are heard less when participation is narrow;
			// at level 4 every group speaks in proportion to its enrolment.
			weights := make([]float64, len(groups))
			for i, grp := range groups {
				bias := 0.6*hashUnit("group-voice/"+grp.Key) - 0.2
				weights[i] = float64(enrolment[i]) * math.Exp(bias*(4-breadth)/1.5)
			}
			for i, c := range split(g.rng, total, weights) {
				out = append(out, observation.ParticipationCount{Field: f.Key, Option: groups[i].Key, Count: c})
			}
			continue
		}
		if len(f.Options) == 0 {
			continue
		}
		weights := make([]float64, len(f.Options))
		for i, o := range f.Options {
			weights[i] = optionWeight(f.Key, o.Key, breadth, press, expl)
		}
		for i, c := range split(g.rng, total, weights) {
			out = append(out, observation.ParticipationCount{Field: f.Key, Option: f.Options[i].Key, Count: c})
		}
	}
	return out
}

// optionWeight is the relative frequency of a participation option given the perceived levels.
func optionWeight(field, option string, breadth, press, expl float64) float64 {
	switch field + "/" + option {
	case "selection/called_on":
		return 0.20 + 0.10*(breadth-1)
	case "selection/volunteered":
		return 0.80 - 0.10*(breadth-1)
	case "length_band/words_1_4":
		return 0.60 - 0.12*(expl-1)
	case "length_band/words_5_20":
		return 0.32 + 0.05*(expl-1)
	case "length_band/words_21_plus":
		return 0.08 + 0.07*(expl-1)
	case "wait_time/under_3s":
		return 0.80 - 0.12*(press-1)
	case "wait_time/at_least_3s":
		return 0.20 + 0.12*(press-1)
	case "question_type/what":
		return 0.62 - 0.11*(press-1)
	case "question_type/how":
		return 0.28 + 0.03*(press-1)
	case "question_type/why":
		return 0.10 + 0.08*(press-1)
	}
	return 1
}

// evidence returns an evidence note for a dimension perceived at x, or "" (not every score gets
// a note).
func (g *Generator) evidence(dim string, x float64) string {
	if g.rng.Float64() < 0.25 {
		return ""
	}
	band := min(max(int(math.Round(x)), 1), 4) - 1
	if list, ok := evidencePhrases[dim]; ok && len(list[band]) > 0 {
		return list[band][g.rng.IntN(len(list[band]))]
	}
	return genericEvidence[band][g.rng.IntN(len(genericEvidence[band]))]
}

func (g *Generator) noEvidence() string {
	if g.rng.Float64() < 0.5 {
		return ""
	}
	return noEvidencePhrases[g.rng.IntN(len(noEvidencePhrases))]
}

// nextSteps picks one or two coaching next steps, aimed at the dimension perceived lowest.
func (g *Generator) nextSteps(c *observation.RubricContent, seen map[string]float64) string {
	lowest, lx := "", math.Inf(1)
	for _, d := range c.Dimensions { // rubric order, so ties resolve deterministically
		if x, ok := seen[d.Key]; ok && x < lx {
			lowest, lx = d.Key, x
		}
	}
	var s string
	if list, ok := nextStepPhrases[lowest]; ok {
		s = list[g.rng.IntN(len(list))]
	} else {
		s = genericNextSteps[g.rng.IntN(len(genericNextSteps))]
	}
	if g.rng.Float64() < 0.4 {
		s += " " + genericNextSteps[g.rng.IntN(len(genericNextSteps))]
	}
	return s
}

// lessonFocus picks a K-8 topic for the grade ("K", "1" … "8"); other grades draw from all.
func (g *Generator) lessonFocus(grade string) string {
	key := grade
	switch grade {
	case "TK", "k", "0", "00":
		key = "K"
	}
	if list, ok := topicsByGrade[key]; ok {
		return list[g.rng.IntN(len(list))]
	}
	keys := []string{"K", "1", "2", "3", "4", "5", "6", "7", "8"}
	list := topicsByGrade[keys[g.rng.IntN(len(keys))]]
	return list[g.rng.IntN(len(list))]
}

var topicsByGrade = map[string][]string{
	"K": {"Counting to 20 and one-to-one correspondence", "Comparing groups: more, fewer, the same",
		"Decomposing numbers to 10", "Addition and subtraction story problems within 10", "Naming and describing 2D shapes"},
	"1": {"Addition and subtraction within 20", "Place value: tens and ones", "Comparing two-digit numbers",
		"Measuring length with non-standard units", "Finding the unknown in an addition equation"},
	"2": {"Adding and subtracting within 100", "Place value to 1,000", "Measuring and estimating lengths",
		"Skip counting and equal groups", "Solving two-step word problems"},
	"3": {"Meaning of multiplication and division", "Fractions on a number line", "Equivalent fractions",
		"Area and the distributive property", "Rounding and estimating to solve problems"},
	"4": {"Multi-digit multiplication strategies", "Comparing fractions with unlike denominators",
		"Decimal notation for fractions", "Adding and subtracting mixed numbers", "Measuring angles"},
	"5": {"Adding fractions with unlike denominators", "Multiplying fractions as scaling", "Volume of rectangular prisms",
		"Place value with decimals", "Graphing points on the coordinate plane"},
	"6": {"Ratios and rate reasoning", "Dividing fractions by fractions", "Writing and evaluating expressions",
		"One-variable equations", "Measures of center and variability"},
	"7": {"Proportional relationships", "Operations with rational numbers", "Solving multi-step equations",
		"Scale drawings", "Probability models"},
	"8": {"Linear functions and slope", "Systems of linear equations", "The Pythagorean theorem",
		"Transformations and congruence", "Integer exponents and scientific notation"},
}

// evidencePhrases[dimension][level-1] are evidence notes an observer might write.
var evidencePhrases = map[string][4][]string{
	"substance": {
		{"Talk stayed on answers: \"What did you get?\" \"Twelve.\"", "Discussion was a check of steps on the worksheet."},
		{"Two strategies were shared; no one asked why they both worked.", "Students described their steps for the area model; the why did not come up."},
		{"Class discussed why the common denominator works and linked the number line to the fraction strip.", "Teacher asked how the table and the graph show the same rate."},
		{"Discussion was built around comparing two methods and deciding when each is efficient.", "An incorrect answer became the focus: students worked out where the reasoning broke down."},
	},
	"participation": {
		{"The same three students answered every question.", "About five students spoke during the whole discussion."},
		{"Roughly a third of the class spoke, nearly all volunteers.", "Hands went up from the same table groups; others stayed quiet."},
		{"Turn-and-talk before the share-out brought in about two thirds of the class.", "Most table groups had a reporter; several quiet students spoke in pairs."},
		{"Nearly every student spoke; teacher used partner talk and called on quiet students by design.", "Teacher tracked who had spoken and invited students who had not yet shared."},
	},
	"press": {
		{"Correct answers were praised and the lesson moved on; no reasons asked.", "Errors were corrected by the teacher without discussion."},
		{"Teacher asked \"How did you get that?\" twice and accepted one-word replies.", "Some how-questions, but follow-up stopped at the first answer."},
		{"Teacher regularly asked \"How do you know?\" and followed up on thin answers.", "Students were asked to define \"equivalent\" before moving on."},
		{"Follow-up chains of three or four questions pushed students to justify.", "Teacher used a student's error as a discussion point: \"Is this always true?\""},
	},
	"explanation": {
		{"Students answered with single numbers.", "Responses were mostly one or two words."},
		{"Students recounted the steps they followed.", "Explanations described procedures: \"First I multiplied, then I added.\""},
		{"Several students explained why, using terms like numerator and denominator correctly.", "Students gave reasons with drawings as evidence."},
		{"Students justified routinely and revised their thinking when a peer challenged it.", "Precise language throughout; students corrected each other's vocabulary."},
	},
	"uptake": {
		{"Exchanges were teacher to one student; ideas were not connected.", "Each answer stood alone; no one responded to a peer."},
		{"Teacher revoiced a few student ideas.", "Teacher occasionally linked an answer to an earlier one."},
		{"Teacher asked \"Who agrees or disagrees with that idea, and why?\" and students responded.", "Students were asked to restate a partner's idea and add on."},
		{"Students addressed each other directly and compared strategies with little teacher mediation.", "Students critiqued each other's methods respectfully without waiting for the teacher."},
	},
	"ownership": {
		{"Teacher modeled the only method and judged every answer.", "Students waited for the teacher to say whether answers were right."},
		{"Student strategies were elicited, but the teacher decided which was right.", "Teacher collected methods and then showed \"the\" way."},
		{"Teacher chose and sequenced three student solutions to build the key idea.", "Student work samples drove the discussion."},
		{"Students posed their own questions and decided together whether solutions were correct.", "Authority was shared: \"Convince your group\" rather than \"Check with me\"."},
	},
}

var genericEvidence = [4][]string{
	{"Little evidence of this during the observed discussion."},
	{"Some evidence, but inconsistent across the lesson."},
	{"Clear evidence during most of the discussion."},
	{"Strong, consistent evidence; students led much of it."},
}

var noEvidencePhrases = []string{
	"No whole-class or small-group discussion during the visit; students worked independently.",
	"Visit fell during a quiz; no discussion observed.",
	"Lesson was direct instruction for the observed time.",
}

var nextStepPhrases = map[string][]string{
	"substance": {"Plan a share-out that compares two strategies and asks why both work.",
		"Choose one key idea for the discussion and sequence student work toward it."},
	"participation": {"Use turn-and-talk before whole-class share-outs.",
		"Track who speaks and invite quieter students in with structured partner talk."},
	"press": {"Plan follow-up questions (\"How do you know?\", \"Will that always work?\") for the launch.",
		"Treat the next common error as discussion material instead of correcting it."},
	"explanation": {"Post sentence frames for justifying: \"I know ... because ...\".",
		"Ask students to explain with a representation, not only the answer."},
	"uptake": {"Practice the talk moves \"Who can add on?\" and \"Do you agree? Why?\".",
		"Have students restate a partner's idea before sharing their own."},
	"ownership": {"Let students decide which solutions are correct before confirming.",
		"Select and sequence student work instead of modeling the method first."},
}

var genericNextSteps = []string{
	"Debrief with the coach this week.",
	"Revisit at the next coaching cycle.",
	"Co-plan the next lesson's discussion questions.",
	"Observe a colleague's discussion routine during PLC time.",
}
