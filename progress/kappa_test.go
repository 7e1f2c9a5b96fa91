package progress

import (
	"math"
	"math/big"
	"math/rand"
	"reflect"
	"testing"
)

func TestAgreementHandComputed(t *testing.T) {
	pairs := []pair{{1, 1}, {2, 3}, {3, 1}, {4, 4}, {0, 2}, {2, 0}, {3, 3}, {2, 2}}
	// The two pairs with a "not observed" are excluded: n = 6; exact (1,1) (4,4) (3,3) (2,2) = 4;
	// adjacent adds (2,3) = 5; (3,1) is two levels apart.
	exact, adjacent, n := agreement(pairs)
	if n != 6 {
		t.Fatalf("n = %d, want 6", n)
	}
	approx(t, "exact", exact, 4.0/6)
	approx(t, "adjacent", adjacent, 5.0/6)
	k := newKappaStats(1, 4)
	for _, p := range pairs {
		k.Add(p)
	}
	e2, a2, n2 := k.Agreement()
	if e2 != exact || a2 != adjacent || n2 != n || k.Excluded != 2 || k.N() != 6 {
		t.Errorf("KappaStats.Agreement = %v %v %d (excluded %d), want %v %v %d", e2, a2, n2, k.Excluded, exact, adjacent, n)
	}
	if e, a, n := agreement([]pair{{0, 0}, {1, 0}}); e != 0 || a != 0 || n != 0 {
		t.Errorf("only NO pairs: %v %v %d", e, a, n)
	}
}

// pairsOf expands a confusion matrix of levels 1..k (rows: observer A, columns: observer B).
func pairsOf(table [][]int) []pair {
	var ps []pair
	for i, row := range table {
		for j, c := range row {
			for ; c > 0; c-- {
				ps = append(ps, pair{A: i + 1, B: j + 1})
			}
		}
	}
	return ps
}

// refKappaAgreementWeights is an independent float implementation of weighted kappa in the
// agreement form (Po - Pe) ÷ (1 - Pe), Po = Σ w_ij·p_ij, Pe = Σ w_ij·p_i.·p_.j, with agreement
// weights w (1 on the diagonal).
func refKappaAgreementWeights(table [][]int, w func(i, j int) float64) float64 {
	k := len(table)
	var n float64
	rows, cols := make([]float64, k), make([]float64, k)
	for i := range table {
		for j := range table[i] {
			c := float64(table[i][j])
			n += c
			rows[i] += c
			cols[j] += c
		}
	}
	var po, pe float64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			po += w(i, j) * float64(table[i][j]) / n
			pe += w(i, j) * rows[i] / n * cols[j] / n
		}
	}
	return (po - pe) / (1 - pe)
}

// refKappaDisagreement is the scikit-learn cohen_kappa_score formula: 1 - Σ d·O ÷ Σ d·E with
// the expected matrix E = outer(row sums, column sums) ÷ n and disagreement weights d.
func refKappaDisagreement(table [][]int, d func(i, j int) float64) float64 {
	k := len(table)
	var n float64
	rows, cols := make([]float64, k), make([]float64, k)
	for i := range table {
		for j := range table[i] {
			n += float64(table[i][j])
			rows[i] += float64(table[i][j])
			cols[j] += float64(table[i][j])
		}
	}
	var num, den float64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			num += d(i, j) * float64(table[i][j])
			den += d(i, j) * rows[i] * cols[j] / n
		}
	}
	return 1 - num/den
}

func quadraticAgreement(k int) func(i, j int) float64 {
	return func(i, j int) float64 { return 1 - float64((i-j)*(i-j))/float64((k-1)*(k-1)) }
}

func quadraticDisagreement(i, j int) float64 { return float64((i - j) * (i - j)) }

// anxietyTable is the confusion matrix of raters 2 and 3 of the `anxiety` data set of the R
// package irr (Gamer, Lemon, Fellows & Singh; 20 subjects rated 1-6 by 3 raters). No subject was
// rated 5 by either rater, and irr's kappa2 uses only the levels observed, so the table has the
// five levels 1, 2, 3, 4, 6 in that order. The data and irr's published output are reproduced
// in statsmodels' test suite (statsmodels/stats/tests/test_inter_rater.py,
// test_cohens_kappa_irr):
//
//	kappa2(anxiety[,2:3])            Kappa = -0.006289308  (unweighted)
//	kappa2(anxiety[,2:3], "equal")   Kappa =  0.1459075    (linear weights)
//	kappa2(anxiety[,2:3], "squared") Kappa =  0.2520325    (quadratic weights)
//
// Rater 2: 3 6 4 6 2 4 2 4 3 3 2 3 3 3 2 2 1 3 3 4
// Rater 3: 2 1 4 4 3 2 1 6 1 1 1 2 3 3 1 1 3 3 2 2
var anxietyTable = [][]int{
	//   1  2  3  4  6   (rater 3)
	{0, 0, 1, 0, 0}, // rater 2 = 1
	{4, 0, 1, 0, 0}, // rater 2 = 2
	{2, 3, 3, 0, 0}, // rater 2 = 3
	{0, 2, 0, 1, 1}, // rater 2 = 4
	{1, 0, 0, 1, 0}, // rater 2 = 6
}

func TestQuadraticKappaPublishedExample(t *testing.T) {
	// The table is the anxiety data: check the transcription against the raw ratings.
	r2 := []int{3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4}
	r3 := []int{2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2}
	rank := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 6: 5} // irr's observed levels, in order
	var pairs []pair
	for i := range r2 {
		pairs = append(pairs, pair{A: rank[r2[i]], B: rank[r3[i]]})
	}
	if got := pairsOf(anxietyTable); len(got) != 20 || !reflect.DeepEqual(confusionOf(pairs, 5), anxietyTable) {
		t.Fatalf("anxiety table transcription: %v", confusionOf(pairs, 5))
	}

	k, ok := quadraticKappa(pairs, 1, 5)
	wantOK(t, "quadratic kappa, irr anxiety[,2:3]", math.Round(k*1e7)/1e7, ok, 0.2520325)
	// Exactly 31/123 = 0.25203252…: n = 20, row sums R = (1,5,8,4,2), column sums
	// C = (7,5,5,2,1), Σ(i-j)²·O = 46, Σ(i-j)²·R·C = 1230, kappa = 1 - 20·46/1230 = 1 - 920/1230
	// = 31/123.
	approx(t, "quadratic kappa, exact", k, 31.0/123)

	// The reference implementations reproduce all three published values, so they are a
	// trustworthy cross-check for the random tables below.
	linear := func(k int) func(i, j int) float64 {
		return func(i, j int) float64 { return 1 - math.Abs(float64(i-j))/float64(k-1) }
	}
	identity := func(i, j int) float64 {
		if i == j {
			return 1
		}
		return 0
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"ref unweighted", refKappaAgreementWeights(anxietyTable, identity), -0.006289308},
		{"ref linear", refKappaAgreementWeights(anxietyTable, linear(5)), 0.1459075},
		{"ref quadratic", refKappaAgreementWeights(anxietyTable, quadraticAgreement(5)), 0.2520325},
		{"ref sklearn quadratic", refKappaDisagreement(anxietyTable, quadraticDisagreement), 0.2520325},
	} {
		if math.Abs(c.got-c.want) > 5e-8 {
			t.Errorf("%s = %.9f, want %.7f (irr)", c.name, c.got, c.want)
		}
	}
}

func confusionOf(pairs []pair, k int) [][]int {
	m := make([][]int, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	for _, p := range pairs {
		m[p.A-1][p.B-1]++
	}
	return m
}

func TestQuadraticKappaHandComputed(t *testing.T) {
	// Two radiologists classifying 85 xeromammograms as normal, benign, suspect, cancer (levels
	// 1-4), the table of Stata's [R] kappa example (rate2.dta). Computed by hand:
	//
	//   O          B=1  B=2  B=3  B=4 | R
	//   A=1         21   12    0    0 | 33
	//   A=2          4   17    1    0 | 22
	//   A=3          3    9   15    2 | 29
	//   A=4          0    0    0    1 |  1
	//   C           28   38   16    3 | n = 85
	//
	// Disagreement weights d = (i-j)²:
	//   Σ d·O = 1·12 + 1·4 + 1·1 + 4·3 + 1·9 + 1·2 = 40
	//   Σ d·R·C = row 1: 1·33·38 + 4·33·16 + 9·33·3 = 1254 + 2112 + 891 = 4257
	//             row 2: 1·22·28 + 1·22·16 + 4·22·3  =  616 +  352 + 264 = 1232
	//             row 3: 4·29·28 + 1·29·38 + 1·29·3  = 3248 + 1102 +  87 = 4437
	//             row 4: 9·1·28  + 4·1·38  + 1·1·16  =  252 +  152 +  16 =  420
	//           = 10346
	//   kappa = 1 - n·Σd·O ÷ Σd·R·C = 1 - 85·40/10346 = 1 - 3400/10346 = 3473/5173 = 0.67137…
	//
	// In the agreement form with w = 1 - (i-j)²/9: Po = 1 - 40/(9·85) = 0.947712,
	// Pe = 1 - 10346/(9·85²) = 0.840892, (Po-Pe)/(1-Pe) = 0.106820/0.159108 = 0.67137.
	// Unweighted, the same table gives Po = 54/85 = 0.635294, Pe = 2227/7225 = 0.308235 and
	// kappa = 0.4728, and with linear weights 1 - 85·34/6696 = 0.5684: the values Stata's manual
	// prints for kap rada radb and kap rada radb, wgt(w), which confirms the transcription.
	table := [][]int{
		{21, 12, 0, 0},
		{4, 17, 1, 0},
		{3, 9, 15, 2},
		{0, 0, 0, 1},
	}
	pairs := pairsOf(table)
	k, ok := quadraticKappa(pairs, 1, 4)
	wantOK(t, "quadratic kappa", k, ok, 3473.0/5173)
	approx(t, "agreement form", refKappaAgreementWeights(table, quadraticAgreement(4)), 3473.0/5173)
	approx(t, "sklearn form", refKappaDisagreement(table, quadraticDisagreement), 3473.0/5173)
	identity := func(i, j int) float64 {
		if i == j {
			return 1
		}
		return 0
	}
	if u := refKappaAgreementWeights(table, identity); math.Round(u*1e4)/1e4 != 0.4728 {
		t.Errorf("unweighted = %v, want 0.4728", u)
	}
	if l := refKappaDisagreement(table, func(i, j int) float64 { return math.Abs(float64(i - j)) }); math.Round(l*1e4)/1e4 != 0.5684 {
		t.Errorf("linear = %v, want 0.5684", l)
	}
	exact, adjacent, n := agreement(pairs)
	approx(t, "exact agreement", exact, 54.0/85)       // 21+17+15+1
	approx(t, "adjacent agreement", adjacent, 82/85.0) // all but the 3 pairs (3,1)
	if n != 85 {
		t.Errorf("n = %d", n)
	}

	// A small table by hand, 3 levels: pairs (1,1) (2,2) (3,3) (1,2) (2,3) (3,1).
	// O = [[1,1,0],[0,1,1],[1,0,1]], R = C = (2,2,2), n = 6.
	// Σd·O = 1 + 1 + 4 = 6; Σd·R·C = 2·2·Σ_{i≠j}(i-j)² = 4·(1+4+1+1+4+1) = 48;
	// kappa = 1 - 6·6/48 = 0.25.
	k, ok = quadraticKappa([]pair{{1, 1}, {2, 2}, {3, 3}, {1, 2}, {2, 3}, {3, 1}}, 1, 3)
	wantOK(t, "3-level kappa", k, ok, 0.25)
}

func TestQuadraticKappaEdgeCases(t *testing.T) {
	k, ok := quadraticKappa(nil, 1, 4)
	wantNotOK(t, "no pairs", k, ok)
	k, ok = quadraticKappa([]pair{{2, 2}, {2, 2}}, 1, 4)
	wantNotOK(t, "one level throughout (Pe = 1)", k, ok)
	k, ok = quadraticKappa([]pair{{2, 2}, {3, 3}}, 3, 3)
	wantNotOK(t, "a single level", k, ok)
	k, ok = quadraticKappa([]pair{{1, 1}, {4, 4}, {0, 3}, {3, 0}, {5, 1}}, 1, 4)
	wantOK(t, "NO and out-of-range pairs excluded", k, ok, 1)
	// Systematic disagreement: kappa below 0.
	k, ok = quadraticKappa([]pair{{1, 4}, {4, 1}}, 1, 4)
	wantOK(t, "opposite ends", k, ok, -1) // Σd·O = 18, n = 2, Σd·R·C = 9+9 = 18 → 1 - 36/18
	// Each observer constant, at different levels: Σd·O = 1·2 = 2, Σd·R·C = d(1,2)·2·2 = 4,
	// kappa = 1 - 2·2/4 = 0 (no better than chance).
	k, ok = quadraticKappa([]pair{{1, 2}, {1, 2}}, 1, 4)
	wantOK(t, "constant offset", k, ok, 0)
}

func TestKappaBand(t *testing.T) {
	cases := []struct {
		k    string // an exact fraction
		band string
	}{
		{"-0.5", KappaPoor}, {"-1/1000000000000", KappaPoor},
		{"0", KappaSlight}, {"0.1", KappaSlight}, {"0.2", KappaSlight},
		{"0.205", KappaFair}, {"0.21", KappaFair}, {"0.4", KappaFair},
		{"0.400001", KappaModerate}, {"0.6", KappaModerate}, {"3/5", KappaModerate},
		// Within half a float64 step of 0.6: float64 would round it onto the bound.
		{"0.60000000000000000001", KappaSubstantial}, {"0.59999999999999999999", KappaModerate},
		{"0.61", KappaSubstantial}, {"0.8", KappaSubstantial},
		{"0.80000000000000000001", KappaAlmostPerfect}, {"0.8000001", KappaAlmostPerfect}, {"0.81", KappaAlmostPerfect}, {"1", KappaAlmostPerfect},
	}
	for _, c := range cases {
		r, ok := new(big.Rat).SetString(c.k)
		if !ok {
			t.Fatalf("bad case %s", c.k)
		}
		if got := kappaBand(r); got != c.band {
			t.Errorf("kappaBand(%s) = %q, want %q", c.k, got, c.band)
		}
	}
	if got := kappaBand(nil); got != "" {
		t.Errorf("kappaBand(nil) = %q, want none", got)
	}
}

// TestMeetsTargetsExactly: a kappa of exactly 3/5 meets a 0.60 target and 17 of 20 pairs
// within one level meet 0.85, compared as exact fractions; a hair below does not, though
// float64 would round it onto the target.
func TestMeetsTargetsExactly(t *testing.T) {
	rat := func(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }
	cases := []struct {
		kappa       string
		adjacent, n int
		want        bool
	}{
		{"3/5", 17, 20, true},
		{"0.6", 85, 100, true},
		{"0.59999999999999999999", 17, 20, false},
		{"3/5", 16, 20, false},
		{"0.9", 169999, 200000, false}, // 0.849995 < 0.85
		{"1", 20, 20, true},
	}
	for _, c := range cases {
		if got := meetsTargets(rat(c.kappa), c.adjacent, c.n, defaultKappaTarget, defaultAdjacentTarget); got != c.want {
			t.Errorf("meetsTargets(%s, %d/%d) = %v, want %v", c.kappa, c.adjacent, c.n, got, c.want)
		}
	}
	if meetsTargets(nil, 1, 1, defaultKappaTarget, defaultAdjacentTarget) || meetsTargets(rat("1"), 0, 0, defaultKappaTarget, defaultAdjacentTarget) {
		t.Error("no kappa or no pairs meets the targets")
	}
	// Through the whole calculation: TestKappaOnABoundaryIsExact's pairs have kappa 4/5 exactly.
	k := newKappaStats(1, 3)
	for _, p := range []pair{{1, 1}, {1, 1}, {3, 3}, {3, 3}, {1, 2}, {3, 2}} {
		k.Add(p)
	}
	if a := agreementOf(k); a.Band != KappaSubstantial || !a.MeetsTarget {
		t.Errorf("kappa 4/5 with adjacent 6/6: band %s, meets %v; want substantial, true", a.Band, a.MeetsTarget)
	}
}

func TestKappaOnABoundaryIsExact(t *testing.T) {
	// Kappa is computed exactly, so a value on a boundary is the boundary itself.
	k, _ := quadraticKappa([]pair{{1, 1}, {1, 1}, {3, 3}, {3, 3}, {1, 2}, {3, 2}}, 1, 3)
	// O: (1,1)=2 (3,3)=2 (1,2)=1 (3,2)=1; R = (3,0,3), C = (2,2,2), n = 6.
	// Σd·O = 1 + 1 = 2; Σd·R·C = row1: 1·3·2 + 4·3·2 = 30; row3: 4·3·2 + 1·3·2 = 30 → 60.
	// kappa = 1 - 6·2/60 = 0.8 exactly: substantial.
	if k != 0.8 {
		t.Errorf("kappa = %v, want exactly 0.8", k)
	}
}

func randomPairs(rng *rand.Rand, n int) []pair {
	ps := make([]pair, n)
	for i := range ps {
		a := 1 + rng.Intn(4)
		b := a + rng.Intn(3) - 1 // mostly close, as observers are
		if rng.Intn(4) == 0 {
			b = 1 + rng.Intn(4)
		}
		b = min(max(b, 1), 4)
		if rng.Intn(12) == 0 {
			a = 0
		}
		if rng.Intn(12) == 0 {
			b = 0
		}
		ps[i] = pair{A: a, B: b}
	}
	return ps
}

func TestQuadraticKappaProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(1968)) // Cohen's weighted kappa paper
	for i := 0; i < 2000; i++ {
		pairs := randomPairs(rng, 1+rng.Intn(60))
		k, ok := quadraticKappa(pairs, 1, 4)

		// Cross-check with both independent float implementations.
		var kept []pair
		for _, p := range pairs {
			if p.A != 0 && p.B != 0 {
				kept = append(kept, p)
			}
		}
		table := confusionOf(kept, 4)
		ref := refKappaDisagreement(table, quadraticDisagreement)
		ref2 := refKappaAgreementWeights(table, quadraticAgreement(4))
		if !ok {
			if len(kept) > 0 && !math.IsNaN(ref) && !math.IsInf(ref, 0) {
				t.Fatalf("%v: not ok, reference %v", pairs, ref)
			}
			continue
		}
		if math.Abs(k-ref) > 1e-9 || math.Abs(k-ref2) > 1e-9 {
			t.Fatalf("%v: kappa %v, references %v %v", pairs, k, ref, ref2)
		}
		if k > 1 {
			t.Fatalf("kappa %v > 1", k)
		}

		// Symmetric in the two observers, exactly.
		swapped := make([]pair, len(pairs))
		for j, p := range pairs {
			swapped[j] = pair{A: p.B, B: p.A}
		}
		if ks, oks := quadraticKappa(swapped, 1, 4); ks != k || oks != ok {
			t.Fatalf("%v: kappa %v, swapped %v", pairs, k, ks)
		}

		// Perfect agreement is 1 whenever it is defined (at least two levels used).
		perfect := make([]pair, len(kept))
		for j, p := range kept {
			perfect[j] = pair{A: p.A, B: p.A}
		}
		if kp, okp := quadraticKappa(perfect, 1, 4); okp && kp != 1 {
			t.Fatalf("%v: perfect agreement kappa %v", perfect, kp)
		}
	}
}

func TestKappaStatsEqualRecomputation(t *testing.T) {
	rng := rand.New(rand.NewSource(1977)) // Landis & Koch
	for history := 0; history < 40; history++ {
		inc := newKappaStats(1, 4)
		var zero kappaStats // the zero value means levels 1..4
		var live []pair
		for step := 0; step < 150; step++ {
			if rng.Intn(3) > 0 || len(live) == 0 {
				p := randomPairs(rng, 1)[0]
				before := inc.Clone()
				inc.Add(p)
				probe := inc.Clone()
				probe.Remove(p)
				if !reflect.DeepEqual(probe, before) {
					t.Fatalf("add then remove: %+v, want %+v", probe, before)
				}
				zero.Add(p)
				live = append(live, p)
			} else {
				i := rng.Intn(len(live))
				inc.Remove(live[i])
				zero.Remove(live[i])
				live = append(live[:i], live[i+1:]...)
			}
			want := newKappaStats(1, 4)
			for _, p := range live {
				want.Add(p)
			}
			if !reflect.DeepEqual(inc, want) || !zero.Equal(want) {
				t.Fatalf("incremental %+v, recomputed %+v", inc, want)
			}
			k1, ok1 := inc.Kappa()
			k2, ok2 := quadraticKappa(live, 1, 4)
			if k1 != k2 || ok1 != ok2 {
				t.Fatalf("Kappa %v %v, QuadraticKappa %v %v", k1, ok1, k2, ok2)
			}
			e1, a1, n1 := inc.Agreement()
			e2, a2, n2 := agreement(live)
			if e1 != e2 || a1 != a2 || n1 != n2 {
				t.Fatalf("Agreement %v %v %d, want %v %v %d", e1, a1, n1, e2, a2, n2)
			}
		}
		// Merge of two halves.
		cut := rng.Intn(len(live) + 1)
		a, b := newKappaStats(1, 4), newKappaStats(1, 4)
		for _, p := range live[:cut] {
			a.Add(p)
		}
		for _, p := range live[cut:] {
			b.Add(p)
		}
		if err := a.merge(b); err != nil || !a.Equal(inc) {
			t.Fatalf("merged %+v (%v), want %+v", a, err, inc)
		}
	}
	a := newKappaStats(1, 4)
	if err := a.merge(newKappaStats(1, 5)); err == nil {
		t.Error("merging different level ranges succeeded")
	}
}
