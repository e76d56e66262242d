// Package scores compares generated text with reference text: exact match, character-level
// ROUGE-L and chrF.
//
// Word-level metrics need a word segmenter for Chinese, which writes no spaces between words;
// these work on characters (Unicode code points), so they apply to any script as they are:
//
//   - ExactMatch is 1 when the two texts are equal after trimming surrounding whitespace.
//   - RougeL is the F1 of the longest common subsequence of the two texts' characters
//     (precision LCS/len(candidate), recall LCS/len(reference)), as rouge-score's rougeL
//     computes it over word tokens; whitespace is left out, as chrF leaves it out.
//   - ChrF is sacreBLEU's chrF with its defaults (chrF2): character n-grams of orders 1 to 6,
//     whitespace removed, precision and recall averaged over the orders that occur in both
//     texts ("effective order"), combined into an F-score with β = 2 (recall weighs more),
//     on a 0–100 scale. CorpusChrF adds up the n-gram counts of every pair first, as
//     sacreBLEU's corpus_score does.
//
// They are written here rather than imported: there is no maintained Go package of them, and
// each is a few dozen lines whose results the tests check against numbers published by
// sacreBLEU and rouge-score.
package scores
