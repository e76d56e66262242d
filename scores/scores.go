package scores

import (
	"strings"
	"unicode"
)

// ExactMatch is 1 when candidate equals reference after trimming whitespace at both ends,
// else 0.
func ExactMatch(candidate, reference string) float64 {
	if strings.TrimSpace(candidate) == strings.TrimSpace(reference) {
		return 1
	}
	return 0
}

// PRF is a precision, a recall and their F-measure, each in [0, 1].
type PRF struct {
	Precision, Recall, F1 float64
}

// LCS returns the length of the longest common subsequence of a and b, by the usual dynamic
// programme in O(len(a)·len(b)) time and O(len(b)) memory.
func LCS[T comparable](a, b []T) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RougeLTokens is ROUGE-L over token sequences, as rouge-score's rougeL computes it: precision
// is LCS/len(candidate), recall LCS/len(reference), F1 their harmonic mean. Either sequence
// empty gives zeros.
func RougeLTokens[T comparable](candidate, reference []T) PRF {
	if len(candidate) == 0 || len(reference) == 0 {
		return PRF{}
	}
	lcs := float64(LCS(candidate, reference))
	p, r := lcs/float64(len(candidate)), lcs/float64(len(reference))
	return PRF{Precision: p, Recall: r, F1: fMeasure(p, r, 1)}
}

// RougeL is character-level ROUGE-L of candidate against reference: RougeLTokens over their
// characters, whitespace removed.
func RougeL(candidate, reference string) PRF {
	return RougeLTokens(chars(candidate), chars(reference))
}

// chars returns the code points of s without whitespace.
func chars(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}

// fMeasure is (1+β²)·p·r / (β²·p + r), 0 when p + r is 0.
func fMeasure(p, r, beta float64) float64 {
	b2 := beta * beta
	if p+r == 0 {
		return 0
	}
	return (1 + b2) * p * r / (b2*p + r)
}

// Totals are the scores of a set of completions against their references.
type Totals struct {
	N          int     // pairs scored
	ExactMatch float64 // share of exact matches, in [0, 1]
	RougeL     float64 // mean character-level ROUGE-L F1, in [0, 1]
	ChrF       float64 // corpus-level chrF2, 0–100
}

// Score scores candidates against references, paired by index: the mean exact match, the mean
// ROUGE-L F1 and the corpus chrF. It panics when the lengths differ; no pair gives N = 0 and
// zero scores.
func Score(candidates, references []string) Totals {
	if len(candidates) != len(references) {
		panic("scores: Score: candidates and references differ in length")
	}
	t := Totals{N: len(candidates)}
	if t.N == 0 {
		return t
	}
	var chrf ChrFStats
	for i, c := range candidates {
		t.ExactMatch += ExactMatch(c, references[i])
		t.RougeL += RougeL(c, references[i]).F1
		chrf.Add(ChrFPair(c, references[i]))
	}
	t.ExactMatch /= float64(t.N)
	t.RougeL /= float64(t.N)
	t.ChrF = chrf.Score(ChrFBeta)
	return t
}
