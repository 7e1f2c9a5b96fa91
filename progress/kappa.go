package progress

import (
	"fmt"
	"math/big"
	"strconv"
)

// Observer agreement of co-observed lessons: exact and adjacent agreement and quadratic-weighted
// kappa (docs/statistics.md), accumulated exactly in a confusion matrix.

// Calibration targets a district starts with (docs/statistics.md).
const (
	defaultKappaTarget    = 0.60
	defaultAdjacentTarget = 0.85
)

// pair is one dimension of a co-observed lesson: the two observers' levels (1..4 on the default
// rubric); 0 means the observer scored "not observed".
type pair struct {
	A, B int
}

func (p pair) notObserved() bool { return p.A == 0 || p.B == 0 }

// agreement returns the exact agreement (a = b) and adjacent agreement (|a-b| <= 1) as shares
// (0..1) of the n pairs in which both observers scored a level; pairs with a "not observed" (0)
// are excluded. Both shares are 0 when n is 0.
func agreement(pairs []pair) (exact, adjacent float64, n int) {
	var e, a int
	for _, p := range pairs {
		if p.notObserved() {
			continue
		}
		n++
		switch d := p.A - p.B; {
		case d == 0:
			e++
			a++
		case d == 1 || d == -1:
			a++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return float64(e) / float64(n), float64(a) / float64(n), n
}

// quadraticKappa is Cohen's kappa with quadratic weights w_ij = 1 - (i-j)²/(k-1)² over the
// k = maxLevel-minLevel+1 levels: (Po - Pe) ÷ (1 - Pe) with Po = Σ w_ij·p_ij and Pe =
// Σ w_ij·p_i.·p_.j. Pairs with a "not observed" (0) or a level outside minLevel..maxLevel are
// excluded. ok is false when there are fewer than two levels, no pairs, or Pe is 1 (both
// observers used one and the same level throughout, so kappa is undefined).
func quadraticKappa(pairs []pair, minLevel, maxLevel int) (float64, bool) {
	k := newKappaStats(minLevel, maxLevel)
	for _, p := range pairs {
		k.Add(p)
	}
	return k.Kappa()
}

// kappaStats accumulates co-observed pairs of one dimension (or observer) in a confusion matrix,
// for incremental maintenance of agreement and quadratic-weighted kappa. A copy shares the
// matrix with the original; use Clone for an independent copy.
type kappaStats struct {
	MinLevel, MaxLevel int
	// Confusion[a-MinLevel][b-MinLevel] counts pairs with levels (a, b).
	Confusion [][]int
	// Excluded counts pairs left out: a "not observed" or a level outside MinLevel..MaxLevel.
	Excluded int
}

// newKappaStats returns an empty accumulator for levels minLevel..maxLevel. The zero kappaStats
// is usable too and means levels 1..4.
func newKappaStats(minLevel, maxLevel int) kappaStats {
	k := kappaStats{MinLevel: minLevel, MaxLevel: maxLevel}
	k.init()
	return k
}

func (k *kappaStats) init() {
	if k.MinLevel == 0 && k.MaxLevel == 0 {
		k.MinLevel, k.MaxLevel = 1, 4
	}
	if n := k.MaxLevel - k.MinLevel + 1; k.Confusion == nil && n > 0 {
		k.Confusion = make([][]int, n)
		for i := range k.Confusion {
			k.Confusion[i] = make([]int, n)
		}
	}
}

// Clone returns a copy that shares nothing with k.
func (k kappaStats) Clone() kappaStats {
	c := k
	if k.Confusion != nil {
		c.Confusion = make([][]int, len(k.Confusion))
		for i, row := range k.Confusion {
			c.Confusion[i] = append([]int(nil), row...)
		}
	}
	return c
}

// Add counts one pair.
func (k *kappaStats) Add(p pair) { k.update(p, 1) }

// Remove takes back one pair added before.
func (k *kappaStats) Remove(p pair) { k.update(p, -1) }

func (k *kappaStats) update(p pair, d int) {
	k.init()
	if p.notObserved() || p.A < k.MinLevel || p.A > k.MaxLevel || p.B < k.MinLevel || p.B > k.MaxLevel {
		k.Excluded += d
		return
	}
	k.Confusion[p.A-k.MinLevel][p.B-k.MinLevel] += d
}

// merge adds all the pairs of o, which must cover the same levels.
func (k *kappaStats) merge(o kappaStats) error {
	k.init()
	o.init()
	if k.MinLevel != o.MinLevel || k.MaxLevel != o.MaxLevel {
		return fmt.Errorf("observation: merging kappa stats of levels %d..%d into %d..%d", o.MinLevel, o.MaxLevel, k.MinLevel, k.MaxLevel)
	}
	for i, row := range o.Confusion {
		for j, c := range row {
			k.Confusion[i][j] += c
		}
	}
	k.Excluded += o.Excluded
	return nil
}

// N is the number of pairs counted (not excluded).
func (k kappaStats) N() int {
	n := 0
	for _, row := range k.Confusion {
		for _, c := range row {
			n += c
		}
	}
	return n
}

// Agreement returns the exact and adjacent agreement shares of the counted pairs, as agreement.
func (k kappaStats) Agreement() (exact, adjacent float64, n int) {
	e, a, n := k.agreementCounts()
	if n <= 0 {
		return 0, 0, n
	}
	return float64(e) / float64(n), float64(a) / float64(n), n
}

// agreementCounts returns the pairs with equal levels, within one level, and all counted pairs.
func (k kappaStats) agreementCounts() (e, a, n int) {
	for i, row := range k.Confusion {
		for j, c := range row {
			n += c
			switch i - j {
			case 0:
				e += c
				a += c
			case 1, -1:
				a += c
			}
		}
	}
	return e, a, n
}

// Kappa is the quadratic-weighted kappa of the counted pairs, as quadraticKappa.
//
// It is computed exactly: with the disagreement weights d_ij = (i-j)² (kappa does not change
// when the weights are scaled, and 1 - w_ij = d_ij/(k-1)²), kappa = 1 - n·Σd_ij·O_ij ÷
// Σd_ij·R_i·C_j for the confusion counts O, row sums R, column sums C and n pairs; both sums are
// integers, and the quotient is rounded to float64 once. So values on a band boundary (0.6 for
// 3/5) are exact, and kappa is exactly symmetric in the two observers.
func (k kappaStats) Kappa() (float64, bool) {
	r, ok := k.kappaRat()
	if !ok {
		return 0, false
	}
	f, _ := r.Float64()
	return f, true
}

// kappaRat is Kappa as an exact fraction, for bands and targets.
func (k kappaStats) kappaRat() (*big.Rat, bool) {
	n := len(k.Confusion)
	if n < 2 {
		return nil, false
	}
	rows, cols := make([]int64, n), make([]int64, n)
	var total, do int64
	for i, row := range k.Confusion {
		if len(row) != n {
			return nil, false
		}
		for j, c := range row {
			if c < 0 {
				return nil, false
			}
			rows[i] += int64(c)
			cols[j] += int64(c)
			total += int64(c)
			do += int64((i-j)*(i-j)) * int64(c)
		}
	}
	if total == 0 {
		return nil, false
	}
	var de, t big.Int
	for i := range rows {
		for j := range cols {
			t.SetInt64(rows[i])
			t.Mul(&t, big.NewInt(cols[j]*int64((i-j)*(i-j))))
			de.Add(&de, &t)
		}
	}
	if de.Sign() == 0 {
		return nil, false
	}
	num := new(big.Int).Mul(big.NewInt(total), big.NewInt(do))
	r := new(big.Rat).SetFrac(num, &de)
	r.Sub(big.NewRat(1, 1), r)
	return r, true
}

// Equal reports whether k and o cover the same levels with the same counts.
func (k kappaStats) Equal(o kappaStats) bool {
	k.init()
	o.init()
	if k.MinLevel != o.MinLevel || k.MaxLevel != o.MaxLevel || k.Excluded != o.Excluded || len(k.Confusion) != len(o.Confusion) {
		return false
	}
	for i := range k.Confusion {
		if len(k.Confusion[i]) != len(o.Confusion[i]) {
			return false
		}
		for j := range k.Confusion[i] {
			if k.Confusion[i][j] != o.Confusion[i][j] {
				return false
			}
		}
	}
	return true
}

// Kappa bands of Landis and Koch (1977).
const (
	KappaPoor          = "poor"           // below 0: less than chance agreement
	KappaSlight        = "slight"         // 0 to 0.20
	KappaFair          = "fair"           // above 0.20 to 0.40
	KappaModerate      = "moderate"       // above 0.40 to 0.60
	KappaSubstantial   = "substantial"    // above 0.60 to 0.80
	KappaAlmostPerfect = "almost_perfect" // above 0.80
)

// kappaBand names the Landis-Koch band of a kappa value given as an exact fraction
// (docs/statistics.md). The bands close at the top: every band includes its upper bound and
// excludes its lower one, as in Landis and Koch's table (0.00-0.20 slight, 0.21-0.40 fair, …):
// 0.20 is slight, 0.205 fair, 0.40 fair, 0.60 moderate, 0.80 substantial, anything above 0.80
// almost perfect. Values below 0 are "poor" (Landis and Koch's "< 0.00 poor"). The comparison is
// exact: a kappa of 3/5 is moderate, and one a hair above 3/5 substantial, even where float64
// rounding would make them equal. nil has no band ("").
func kappaBand(k *big.Rat) string {
	switch {
	case k == nil:
		return ""
	case k.Sign() < 0:
		return KappaPoor
	case k.Cmp(bandSlight) <= 0:
		return KappaSlight
	case k.Cmp(bandFair) <= 0:
		return KappaFair
	case k.Cmp(bandModerate) <= 0:
		return KappaModerate
	case k.Cmp(bandSubstantial) <= 0:
		return KappaSubstantial
	}
	return KappaAlmostPerfect
}

// The upper bounds of the Landis-Koch bands, exactly.
var (
	bandSlight      = big.NewRat(1, 5)
	bandFair        = big.NewRat(2, 5)
	bandModerate    = big.NewRat(3, 5)
	bandSubstantial = big.NewRat(4, 5)
)

// exactTarget is a target given as a float64 as the exact decimal fraction it was written as
// (0.60 is 3/5, not the binary float64 nearest to it), so that a value of exactly 3/5 meets it.
func exactTarget(t float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(t, 'f', -1, 64))
	if !ok { // NaN or ±Inf: nothing meets it
		return nil
	}
	return r
}

// meetsTargets reports whether kappa ≥ kappaTarget and adjacent agreement (adjacent ÷ n pairs)
// ≥ adjacentTarget, comparing exact fractions.
func meetsTargets(kappa *big.Rat, adjacent, n int, kappaTarget, adjacentTarget float64) bool {
	kt, at := exactTarget(kappaTarget), exactTarget(adjacentTarget)
	if kappa == nil || kt == nil || at == nil || n <= 0 {
		return false
	}
	return kappa.Cmp(kt) >= 0 && big.NewRat(int64(adjacent), int64(n)).Cmp(at) >= 0
}
