package scores

// ChrFOrder is the largest character n-gram order of chrF (sacreBLEU's default).
const ChrFOrder = 6

// ChrFBeta is chrF's default β: recall counts β² = 4 times as much as precision.
const ChrFBeta = 2

// ChrFStats holds chrF's sufficient statistics for one or more text pairs: per n-gram order
// (index n−1), the candidate's n-grams, the reference's n-grams and the matched ones (each
// n-gram matched at most as often as it occurs in both). Add sums pairs into corpus counts.
type ChrFStats struct {
	Hyp, Ref, Match [ChrFOrder]int
}

// ChrFPair counts the character n-grams of candidate and reference, whitespace removed. As in
// sacreBLEU, an order the reference has no n-gram of counts no candidate n-grams either.
func ChrFPair(candidate, reference string) ChrFStats {
	hyp, ref := chars(candidate), chars(reference)
	var s ChrFStats
	for n := 1; n <= ChrFOrder; n++ {
		refGrams := ngrams(ref, n)
		refCount := 0
		for _, c := range refGrams {
			refCount += c
		}
		hypCount, match := 0, 0
		for g, c := range ngrams(hyp, n) {
			hypCount += c
			match += min(c, refGrams[g])
		}
		if refCount == 0 {
			hypCount = 0
		}
		s.Hyp[n-1], s.Ref[n-1], s.Match[n-1] = hypCount, refCount, match
	}
	return s
}

// ngrams counts the n-grams of runes.
func ngrams(runes []rune, n int) map[string]int {
	out := map[string]int{}
	for i := 0; i+n <= len(runes); i++ {
		out[string(runes[i:i+n])]++
	}
	return out
}

// Add adds the counts of o to s.
func (s *ChrFStats) Add(o ChrFStats) {
	for i := range ChrFOrder {
		s.Hyp[i] += o.Hyp[i]
		s.Ref[i] += o.Ref[i]
		s.Match[i] += o.Match[i]
	}
}

// Score is the chrF of the counts, on a 0–100 scale: the precisions and recalls of the orders
// that both sides have n-grams of are averaged, and combined into the F-score with the given β
// (sacreBLEU's default, effective-order mode). No such order scores 0.
func (s ChrFStats) Score(beta float64) float64 {
	var p, r float64
	orders := 0
	for i := range ChrFOrder {
		if s.Hyp[i] > 0 && s.Ref[i] > 0 {
			p += float64(s.Match[i]) / float64(s.Hyp[i])
			r += float64(s.Match[i]) / float64(s.Ref[i])
			orders++
		}
	}
	if orders == 0 {
		return 0
	}
	return 100 * fMeasure(p/float64(orders), r/float64(orders), beta)
}

// ChrF is the sentence-level chrF2 of candidate against reference, 0–100.
func ChrF(candidate, reference string) float64 {
	return ChrFPair(candidate, reference).Score(ChrFBeta)
}

// CorpusChrF is the corpus-level chrF2 of candidates against references (pairs by index),
// 0–100: the n-gram counts of all pairs are summed before the score is taken, as sacreBLEU's
// corpus_score does. It panics when the lengths differ.
func CorpusChrF(candidates, references []string) float64 {
	if len(candidates) != len(references) {
		panic("scores: CorpusChrF: candidates and references differ in length")
	}
	var total ChrFStats
	for i := range candidates {
		total.Add(ChrFPair(candidates[i], references[i]))
	}
	return total.Score(ChrFBeta)
}
