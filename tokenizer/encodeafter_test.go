package tokenizer

import (
	"maps"
	"slices"
	"testing"
)

// pairCase is a (prompt, response) pair with the ids Hugging Face's tokenizers gives the prompt
// alone and the two joined into one string, both without special tokens.
type pairCase struct {
	Source    string `json:"source"`
	Prompt    string `json:"prompt"`
	Response  string `json:"response"`
	PromptIDs []int  `json:"prompt_ids"`
	IDs       []int  `json:"ids"`
}

// pairReference is testdata/mistral/pair_ids.json.gz (testdata/gen_reference_pairs.mjs).
type pairReference struct {
	Pairs    []pairCase `json:"pairs"`
	Variants []struct {
		Name    string      `json:"name"`
		Patches []jsonPatch `json:"patches"`
		Pairs   []pairCase  `json:"pairs"`
	} `json:"variants"`
}

func readPairReference(t *testing.T) pairReference {
	t.Helper()
	var ref pairReference
	readJSON(t, mistralDir+"/pair_ids.json.gz", &ref)
	if len(ref.Pairs) < 400 || len(ref.Variants) == 0 {
		t.Fatalf("reference: %d pairs, %d variants", len(ref.Pairs), len(ref.Variants))
	}
	return ref
}

// checkPairs checks that EncodePlain(prompt) followed by EncodeAfter(its last id, response) gives
// Hugging Face's ids of prompt + response wherever no merge joins the prompt's end to the
// response's start (Hugging Face's ids of the whole then start with those of the prompt), and the
// same text where one does. It returns the number of such merges by source.
func checkPairs(t *testing.T, tok *Tokenizer, pairs []pairCase) map[string]int {
	t.Helper()
	merged := map[string]int{}
	mismatches := 0
	fail := func(format string, args ...any) {
		mismatches++
		if mismatches <= 5 {
			t.Errorf(format, args...)
		}
	}
	for i, p := range pairs {
		prompt := tok.EncodePlain(p.Prompt)
		if !slices.Equal(prompt, p.PromptIDs) {
			fail("pair %d: EncodePlain(%q)\n got %v\nwant %v", i, p.Prompt, prompt, p.PromptIDs)
			continue
		}
		prev := -1
		if len(prompt) > 0 {
			prev = prompt[len(prompt)-1]
		}
		got := slices.Concat(prompt, tok.EncodeAfter(prev, p.Response))
		if !slices.Equal(p.IDs[:min(len(prompt), len(p.IDs))], prompt) {
			merged[p.Source]++
			// The same text, unless the junction cuts an added token in two ("<u" + "nk>"), which
			// the whole string holds and either piece lacks.
			if a, b := tok.Decode(got), tok.Decode(p.IDs); a != b && !addedAcross(tok, p.Prompt, p.Response) {
				fail("pair %d (%q, %q) merged across the junction: decodes to %q, Hugging Face's ids to %q", i, p.Prompt, p.Response, a, b)
			}
			continue
		}
		if !slices.Equal(got, p.IDs) {
			fail("pair %d (%s): EncodePlain(%q) ++ EncodeAfter(%d, %q)\n got %v\nwant %v", i, p.Source, p.Prompt, prev, p.Response, got, p.IDs)
		}
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches in %d pairs", mismatches, len(pairs))
	}
	return merged
}

// addedAcross reports whether an added token of tok spans the junction of prompt and response.
func addedAcross(tok *Tokenizer, prompt, response string) bool {
	whole := prompt + response
	for _, ids := range []map[int]bool{tok.addedRaw, tok.addedNormed} {
		for id := range ids {
			c := tok.tokens[id]
			for i := max(0, len(prompt)-len(c)+1); i < len(prompt) && i+len(c) <= len(whole); i++ {
				if whole[i:i+len(c)] == c {
					return true
				}
			}
		}
	}
	return false
}

// TestEncodeAfterReference compares the junctions of prompt and response pairs (the built-in
// teaching set in the sft and instruction formats, English, added tokens at the junction, random
// strings cut in two) with Hugging Face's encoding of the joined string.
func TestEncodeAfterReference(t *testing.T) {
	ref := readPairReference(t)
	merged := checkPairs(t, loadMistral(t), ref.Pairs)
	// Merges across the junction, counted in Hugging Face's ids: none in the built-in set, so that
	// its sequences have exactly the ids of tokenizer(prompt + response); random strings are mostly
	// cut inside a word.
	want := map[string]int{"english": 4, "junctions": 4, "random": 108}
	if !maps.Equal(merged, want) {
		t.Errorf("merges across the junction by source: %v, want %v", merged, want)
	}
	wantVariant := map[string]int{
		"metaspace first, no split (newer Llama and Mistral files)":                117,
		"metaspace first, split, Metaspace decoder":                                113,
		"metaspace always, split, Metaspace decoder, normalized added token <day>": 112,
		"metaspace never, split, Metaspace decoder":                                113,
		"normalized added tokens </s> and <day>":                                   111,
	}
	for _, v := range ref.Variants {
		t.Run(v.Name, func(t *testing.T) {
			merged := checkPairs(t, loadMistralPatched(t, v.Patches), v.Pairs)
			n := 0
			for src, k := range merged {
				if src == "builtin sft" || src == "builtin instruction" {
					t.Errorf("%d pairs of the built-in set (%s) merge across the junction", k, src)
				}
				n += k
			}
			if w, ok := wantVariant[v.Name]; !ok || n != w {
				t.Errorf("%d merges across the junction, want %d", n, w)
			}
		})
	}
}

// TestEncodeAfterJunctions checks each kind of junction on a small tokenizer written as Llama 2's
// and with Metaspace pre-tokenizers, as Hugging Face's tokenizers encodes "hello" inside a string:
// at its start, after plain text ("d"), after the added token </s>.
func TestEncodeAfterJunctions(t *testing.T) {
	const hello, spaceHello, d, eos = 270, 271, 266, 2 // "hello", "▁hello", "d", "</s>"
	metaspace := func(scheme string) func(m map[string]any) {
		return func(m map[string]any) {
			m["normalizer"] = nil
			m["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true}
		}
	}
	tests := []struct {
		name                           string
		edit                           func(m map[string]any)
		atStart, afterText, afterAdded int
	}{
		{"Prepend normalizer", nil, spaceHello, hello, spaceHello},
		{"Metaspace first", metaspace("first"), spaceHello, hello, hello},
		{"Metaspace always", metaspace("always"), spaceHello, hello, spaceHello},
		{"Metaspace never", metaspace("never"), hello, hello, hello},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := loadSPTiny(t, tt.edit)
			for _, c := range []struct {
				prev, want int
			}{{-1, tt.atStart}, {d, tt.afterText}, {eos, tt.afterAdded}} {
				if got := tok.EncodeAfter(c.prev, "hello"); !slices.Equal(got, []int{c.want}) {
					t.Errorf("EncodeAfter(%d, \"hello\") = %v, want [%d]", c.prev, got, c.want)
				}
			}
			if got, want := tok.EncodeAfter(-1, "hello world"), tok.EncodePlain("hello world"); !slices.Equal(got, want) {
				t.Errorf("EncodeAfter(-1, ...) = %v, EncodePlain %v", got, want)
			}
			// Text after an added token inside the continuation starts a new piece.
			want := slices.Concat([]int{hello, eos}, tok.EncodeAfter(eos, "hello"))
			if got := tok.EncodeAfter(d, "hello</s>hello"); !slices.Equal(got, want) {
				t.Errorf("EncodeAfter(d, \"hello</s>hello\") = %v, want %v", got, want)
			}
		})
	}
}

// TestEncodeAfterByteLevel checks that for byte-level BPE (Qwen3) EncodeAfter is EncodePlain,
// whatever comes before, on the reference strings.
func TestEncodeAfterByteLevel(t *testing.T) {
	tok := loadQwen3(t)
	cases := append(readCases(t, "testdata/qwen3_tokenizer_ids.json"), readCases(t, "testdata/reference_ids.json.gz")...)
	imEnd, plain := 151645, tok.EncodePlain("Hello")[0]
	for i, c := range cases {
		want := tok.EncodePlain(c.Text)
		for _, prev := range []int{-1, imEnd, plain} {
			if got := tok.EncodeAfter(prev, c.Text); !slices.Equal(got, want) {
				t.Fatalf("case %d: EncodeAfter(%d, %q)\n got %v\nwant EncodePlain %v", i, prev, c.Text, got, want)
			}
		}
	}
}
