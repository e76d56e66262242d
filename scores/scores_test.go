package scores_test

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/scores"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

func TestExactMatch(t *testing.T) {
	tests := []struct {
		name, candidate, reference string
		want                       float64
	}{
		{"identical", "熟能生巧。", "熟能生巧。", 1},
		{"surrounding whitespace", " 熟能生巧。\n", "熟能生巧。", 1},
		{"inner difference", "熟能 生巧。", "熟能生巧。", 0},
		{"different", "熟能生巧", "熟能生巧。", 0},
		{"both empty", "", "", 1},
		{"empty candidate", "", "好", 0},
		{"case matters", "Yes", "yes", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scores.ExactMatch(tt.candidate, tt.reference); got != tt.want {
				t.Errorf("ExactMatch(%q, %q) = %v, want %v", tt.candidate, tt.reference, got, tt.want)
			}
		})
	}
}

func TestLCS(t *testing.T) {
	tests := []struct {
		name string
		a, b []int
		want int
	}{
		// rouge-score's testLcsTable: ref [1 2 3 4 5], candidate [2 5 3 4] → LCS [2 3 4].
		{"rouge-score table", []int{1, 2, 3, 4, 5}, []int{2, 5, 3, 4}, 3},
		{"none in common", []int{1, 2, 3, 4, 5}, []int{8, 9}, 0},
		{"empty", nil, []int{1}, 0},
		{"identical", []int{7, 7, 7}, []int{7, 7, 7}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scores.LCS(tt.a, tt.b); got != tt.want {
				t.Errorf("LCS = %d, want %d", got, tt.want)
			}
			if got := scores.LCS(tt.b, tt.a); got != tt.want {
				t.Errorf("LCS reversed = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestRougeL checks character-level ROUGE-L on cases computed by hand.
func TestRougeL(t *testing.T) {
	tests := []struct {
		name, candidate, reference string
		want                       scores.PRF
	}{
		// LCS 天气很好 = 4 of 4 candidate and 6 reference characters: F1 = 2·1·⅔/(1+⅔) = 0.8.
		{"prefix missing", "天气很好", "今天天气很好", scores.PRF{Precision: 1, Recall: 4.0 / 6, F1: 0.8}},
		// LCS 我北京 = 3 of 4 and 4.
		{"one character differs", "我爱北京", "我在北京", scores.PRF{Precision: 0.75, Recall: 0.75, F1: 0.75}},
		// Whitespace is not a character: LCS 熟能生巧 = 4 of 4 and 5 (with 。).
		{"whitespace ignored", "熟能 生巧", "熟能生巧。", scores.PRF{Precision: 1, Recall: 0.8, F1: 2 * 0.8 / 1.8}},
		{"identical", "市图书馆今夏延长开放时间。", "市图书馆今夏延长开放时间。", scores.PRF{Precision: 1, Recall: 1, F1: 1}},
		{"empty candidate", "", "熟能生巧", scores.PRF{}},
		{"empty reference", "熟能生巧", "", scores.PRF{}},
		{"both empty", "", "", scores.PRF{}},
		{"nothing in common", "abc", "xyz", scores.PRF{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scores.RougeL(tt.candidate, tt.reference)
			near(t, "precision", got.Precision, tt.want.Precision, 1e-12)
			near(t, "recall", got.Recall, tt.want.Recall, 1e-12)
			near(t, "F1", got.F1, tt.want.F1, 1e-12)
		})
	}
}

// rougeTokenize is rouge-score's default tokenizer (rouge/tokenize.py, no stemmer): lowercase,
// every run of characters other than a–z and 0–9 becomes a space, split on whitespace.
func rougeTokenize(s string) []string {
	return strings.Fields(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s), " "))
}

// TestRougeLMatchesRougeScore checks the LCS F-measure against rouge-score's own tests
// (google-research/rouge, rouge_scorer_test.py), whose ROUGE-1.5.5 numbers are quoted there.
// rouge-score takes (target, prediction); RougeLTokens takes (candidate, reference).
func TestRougeLMatchesRougeScore(t *testing.T) {
	// The first lines of rouge/testdata/target.txt and prediction.txt (Apache-2.0).
	const target0 = "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L"
	const prediction0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi"
	tests := []struct {
		name, target, prediction string
		want                     scores.PRF
		tol                      float64
	}{
		{"testRougeLConsecutive", "testing one two", "testing one", scores.PRF{Precision: 1, Recall: 2.0 / 3, F1: 4.0 / 5}, 1e-12},
		{"testRougeLNonConsecutive", "testing one two", "testing two", scores.PRF{Precision: 1, Recall: 2.0 / 3, F1: 4.0 / 5}, 1e-12},
		{"testRougeEmpty", "testing one two", "", scores.PRF{}, 0},
		// testRougeLAgainstRouge155: ROUGE-1.5.5's numbers, to 5 places.
		{"testRougeLAgainstRouge155", target0, prediction0, scores.PRF{Precision: 0.68750, Recall: 0.40741, F1: 0.51163}, 5e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scores.RougeLTokens(rougeTokenize(tt.prediction), rougeTokenize(tt.target))
			near(t, "precision", got.Precision, tt.want.Precision, tt.tol)
			near(t, "recall", got.Recall, tt.want.Recall, tt.tol)
			near(t, "F1", got.F1, tt.want.F1, tt.tol)
		})
	}
}

// TestChrF checks sentence-level chrF2 on cases computed by hand.
func TestChrF(t *testing.T) {
	tests := []struct {
		name, candidate, reference string
		want                       float64
	}{
		// Orders 1–4 occur in both (the candidate has no 5-gram): precisions 1, recalls
		// 4/6, 3/5, 2/4, 1/3, mean 0.525; F2 = 5·1·0.525/(4·1 + 0.525).
		{"prefix missing", "天气很好", "今天天气很好", 100 * 5 * 0.525 / 4.525},
		// 1-grams: 3 of 4 match both ways; 2-grams: 北京 only, 1 of 3; 3-grams: none of 2;
		// 4-grams: none of 1. P = R = (3/4 + 1/3 + 0 + 0)/4.
		{"one character differs", "我爱北京", "我在北京", 100 * (0.75 + 1.0/3) / 4},
		{"identical", "市图书馆今夏延长开放时间。", "市图书馆今夏延长开放时间。", 100},
		{"whitespace ignored", "熟能 生巧", "熟 能生巧", 100},
		{"empty candidate", "", "熟能生巧", 0},
		{"empty reference", "熟能生巧", "", 0},
		{"both empty", "", "", 0},
		{"nothing in common", "abc", "xyz", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			near(t, "ChrF", scores.ChrF(tt.candidate, tt.reference), tt.want, 1e-9)
		})
	}
}

// TestChrFMatchesSacreBLEU checks chrF against numbers published with sacreBLEU: its tests in
// mjpost/sacrebleu test/test_chrf.py (test_cases_effective_order: char_order 6, word_order 0,
// beta 3, eps_smoothing False, the mode of its defaults) and the example of Hugging Face's
// chrF metric card (huggingface/datasets metrics/chrf/README.md), which runs sacreBLEU with
// its defaults (chrF2).
func TestChrFMatchesSacreBLEU(t *testing.T) {
	tests := []struct {
		name                   string
		candidates, references []string
		beta                   float64
		want                   float64
	}{
		{"a/a", []string{"a"}, []string{"a"}, 3, 100},
		{"empty/reference", []string{""}, []string{"reference"}, 3, 0},
		{"a b c/a b c", []string{"a b c"}, []string{"a b c"}, 3, 100},
		{"a b c/abc", []string{"a b c"}, []string{"abc"}, 3, 100},
		{"empty/c", []string{""}, []string{"c"}, 3, 0},
		{"corpus a,b/a,c", []string{"a", "b"}, []string{"a", "c"}, 3, 50},
		{"aa/ab", []string{"aa"}, []string{"ab"}, 3, 25},
		{"metric card", []string{"The relationship between Obama and Netanyahu is not exactly friendly."},
			[]string{"The ties between Obama and Netanyahu are not particularly friendly."}, 2, 61.576379378113785},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var total scores.ChrFStats
			for i := range tt.candidates {
				total.Add(scores.ChrFPair(tt.candidates[i], tt.references[i]))
			}
			// sacreBLEU's tests compare to 1e-4; the metric card prints every digit.
			near(t, "chrF", total.Score(tt.beta), tt.want, 1e-9)
			if tt.beta == scores.ChrFBeta {
				near(t, "CorpusChrF", scores.CorpusChrF(tt.candidates, tt.references), tt.want, 1e-9)
			}
		})
	}
}

func TestScore(t *testing.T) {
	cands := []string{"熟能生巧。", "天气很好", ""}
	refs := []string{"熟能生巧。", "今天天气很好", "好"}
	got := scores.Score(cands, refs)
	if got.N != 3 {
		t.Fatalf("N = %d, want 3", got.N)
	}
	near(t, "ExactMatch", got.ExactMatch, 1.0/3, 1e-12)
	near(t, "RougeL", got.RougeL, (1+0.8+0)/3, 1e-12)
	near(t, "ChrF", got.ChrF, scores.CorpusChrF(cands, refs), 0)
	// The corpus chrF is not the mean of the sentence ones.
	mean := (scores.ChrF(cands[0], refs[0]) + scores.ChrF(cands[1], refs[1]) + scores.ChrF(cands[2], refs[2])) / 3
	if math.Abs(got.ChrF-mean) < 1e-6 {
		t.Errorf("corpus chrF %v equals the mean of sentence scores: the counts were not pooled", got.ChrF)
	}
	if z := scores.Score(nil, nil); z != (scores.Totals{}) {
		t.Errorf("Score of nothing = %+v, want zeros", z)
	}
}
