package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Encoder is what training code needs from a tokenizer; *Tokenizer and, with -tags hftokenizers,
// *HF implement it.
type Encoder interface {
	Encode(text string) []int
	Decode(ids []int) string
	VocabSize() int
}

var _ Encoder = (*Tokenizer)(nil)

// Tokenizer is a loaded BPE tokenizer: byte-level (Qwen2/Qwen3, Llama 3) or SentencePiece-style
// with byte fallback (Llama 2, TinyLlama, Mistral). It is immutable apart from an internal cache
// and safe for concurrent use.
type Tokenizer struct {
	// tokens maps an id to its token: for byte-level BPE, the bytes it stands for; otherwise the
	// vocabulary piece as written ("▁the", "<0x0A>"). Added tokens are their content; unused ids "".
	tokens         []string
	byteLevel      bool             // byte-level BPE (the ByteLevel pre-tokenizer)
	byteID         [256]int32       // byte-level: id of each single byte's symbol
	merges         mergeTable       // pair -> rank and merged id
	vocab          map[string]int32 // token -> id: when ignoreMerges, and always when not byte-level
	ignoreMerges   bool
	normalizers    []normStep
	split          splitter     // byte-level: the Split pre-tokenizer
	meta           *metaspace   // not byte-level: the Metaspace pre-tokenizer, if any
	byteFallback   bool         // not byte-level: characters missing from the vocabulary become <0xXX> pieces
	fallbackID     [256]int32   // id of each byte's <0xXX> piece, -1 where the vocabulary lacks it
	unkID          int32        // not byte-level: id of model.unk_token, -1 when there is none
	fuseUnk        bool         // a run of unknown characters gives one unknown token
	decoders       []decodeStep // not byte-level: the decoder
	noDecoder      bool         // not byte-level: decoder null (tokens are joined with spaces)
	added          addedMatcher // added tokens matched on the raw text
	addedNorm      addedMatcher // added tokens matched after normalization
	addedRaw       map[int]bool // ids of the added tokens in added
	addedNormed    map[int]bool // ids of the added tokens in addedNorm
	prefix, suffix []int        // ids the post-processor puts around a single sequence
	special        []int        // ids of special added tokens, sorted
	vocabSize      int
	eos, pad       int
	hash           string
	chat           chatTemplate // the directory's chat template

	cacheMu sync.RWMutex
	cache   map[string][]int32 // pre-token -> ids
}

// cacheLimit bounds the number of cached pre-tokens; once full, new words are not cached.
const cacheLimit = 1 << 17

// cacheableWord is the longest pre-token (in bytes) that is cached.
const cacheableWord = 64

// Encode returns the token ids of text as Hugging Face's encode(text, add_special_tokens=True)
// does: added tokens are split out first, the rest is normalized, pre-tokenized and merged, and
// the post-processor's special tokens (if any) are put around the result.
func (t *Tokenizer) Encode(text string) []int {
	out := make([]int, 0, len(text)/3+len(t.prefix)+len(t.suffix)+1)
	out = append(out, t.prefix...)
	out = t.appendPlain(out, text, atStart)
	return append(out, t.suffix...)
}

// EncodePlain returns the token ids of text without the post-processor's special tokens, as
// Hugging Face's encode(text, add_special_tokens=False) does. With Llama 2's normalizer
// (Prepend "▁") the ids start with "▁", as in tokenizer(text). A sequence built from several
// pieces encodes the first with EncodePlain and each next one with [Tokenizer.EncodeAfter], and
// puts [Tokenizer.Affixes] around the whole, so that a BOS the post-processor adds appears once,
// as in tokenizer(whole_text).
func (t *Tokenizer) EncodePlain(text string) []int {
	return t.appendPlain(make([]int, 0, len(text)/3+1), text, atStart)
}

// EncodeAfter returns the token ids of text, without the post-processor's special tokens, as
// Hugging Face encodes it inside a longer string, right after the token prev (the last id of the
// text before it; prev < 0 means that text starts the string, which is EncodePlain). Encoding a
// string piece by piece, each piece after the last id of the ones before, so gives the ids of
// encode(whole string, add_special_tokens=False) with a token boundary at every junction: the
// same ids, unless a merge would join the end of one piece to the start of the next (or an added
// token spans the junction, "<u" then "nk>").
//
// For byte-level BPE it is EncodePlain, whatever prev. For a SentencePiece-style tokenizer the
// start of text gets a "▁" only where Hugging Face puts one:
//   - after plain text (prev is not an added token), text continues the same piece of text
//     between added tokens: neither the Prepend normalizer nor Metaspace (any prepend_scheme)
//     puts "▁" before it;
//   - after an added token, text starts a new piece: Llama 2's Prepend normalizer puts "▁"
//     before it, and so does Metaspace with prepend_scheme "always", but not with "first" (only
//     the start of the whole string) or "never". After an added token matched in the normalized
//     text ("normalized": true), text is still in the same piece for the normalizer (no
//     Prepend) but a new one for Metaspace.
func (t *Tokenizer) EncodeAfter(prev int, text string) []int {
	start := atStart
	switch {
	case prev < 0 || t.byteLevel:
	case t.addedRaw[prev]:
		start = afterAdded
	case t.addedNormed[prev]:
		start = afterNormAdded
	default:
		start = afterText
	}
	return t.appendPlain(make([]int, 0, len(text)/3+1), text, start)
}

// textStart is what comes before a text in the string it is part of, which decides whether
// Hugging Face puts "▁" before it (SentencePiece-style tokenizers only).
type textStart uint8

const (
	atStart        textStart = iota // nothing: the text starts the string
	afterAdded                      // an added token matched in the raw text
	afterNormAdded                  // an added token matched in the normalized text
	afterText                       // plain text: the text continues its piece
)

// Affixes returns the ids the post-processor (TemplateProcessing's single-sequence template)
// puts before and after a sequence: for Llama 3, prefix [<|begin_of_text|>] and no suffix; none
// for Qwen3. The slices are copies.
func (t *Tokenizer) Affixes() (prefix, suffix []int) {
	return slices.Clone(t.prefix), slices.Clone(t.suffix)
}

// appendPlain appends the ids of text, without the post-processor's special tokens, to out;
// start is what comes before text in its string. As in Hugging Face, the normalizer applies to
// each piece of text between two added tokens.
func (t *Tokenizer) appendPlain(out []int, text string, start textStart) []int {
	var sc scratch
	t.added.split(text, func(seg string, id int) {
		segStart := start
		start = afterAdded // text after this piece follows an added token
		if id >= 0 {
			out = append(out, id)
			return
		}
		// The normalizer's Prepend applies at the start of a piece between added tokens, not
		// to text that continues one.
		seg = t.normalize(seg, segStart != afterText && segStart != afterNormAdded)
		t.addedNorm.split(seg, func(seg string, id int) {
			pieceStart := segStart
			segStart = afterNormAdded
			switch {
			case id >= 0:
				out = append(out, id)
			case t.byteLevel:
				out = t.appendText(out, seg, &sc)
			default:
				out = t.appendPieces(out, seg, pieceStart, &sc)
			}
		})
	})
	return out
}

// scratch holds the buffers of one Encode call.
type scratch struct {
	ids    [smallWord]int32
	ranks  [smallWord]uint32
	merged [smallWord]int32
}

// appendText appends the ids of normalized text without added tokens, for byte-level BPE.
func (t *Tokenizer) appendText(out []int, s string, sc *scratch) []int {
	for i := 0; i < len(s); {
		end := t.split.next(s, i)
		out = t.appendWord(out, s[i:end], sc)
		i = end
	}
	return out
}

// appendKnown appends the ids of a word that needs no merging, a whole vocabulary entry (with
// ignore_merges) or a word already in the cache, and reports whether w was one.
func (t *Tokenizer) appendKnown(out []int, w string) ([]int, bool) {
	if t.ignoreMerges {
		if id, ok := t.vocab[w]; ok {
			return append(out, int(id)), true
		}
	}
	if len(w) <= cacheableWord {
		if ids, ok := t.cached(w); ok {
			for _, id := range ids {
				out = append(out, int(id))
			}
			return out, true
		}
	}
	return out, false
}

// appendWord appends the ids of one byte-level pre-token.
func (t *Tokenizer) appendWord(out []int, w string, sc *scratch) []int {
	if len(w) == 1 {
		return append(out, int(t.byteID[w[0]]))
	}
	if out, ok := t.appendKnown(out, w); ok {
		return out
	}
	var ids []int32
	if len(w) <= smallWord {
		ids = sc.ids[:len(w)]
	} else {
		ids = make([]int32, len(w))
	}
	for i := range len(w) {
		ids[i] = t.byteID[w[i]]
	}
	return t.finishWord(out, w, ids, sc)
}

// finishWord merges ids, the starting symbols of the pre-token w, in rank order, appends the
// result to out and caches it for w.
func (t *Tokenizer) finishWord(out []int, w string, ids []int32, sc *scratch) []int {
	if len(ids) > 1 {
		ids = t.merges.mergeWord(ids, sc.ranks[:], sc.merged[:])
	}
	for _, id := range ids {
		out = append(out, int(id))
	}
	if len(w) <= cacheableWord {
		t.store(w, ids)
	}
	return out
}

// cached returns the ids of the pre-token w from the cache.
func (t *Tokenizer) cached(w string) ([]int32, bool) {
	t.cacheMu.RLock()
	ids, ok := t.cache[w]
	t.cacheMu.RUnlock()
	return ids, ok
}

// store puts the ids of the pre-token w in the cache, unless it is full.
func (t *Tokenizer) store(w string, ids []int32) {
	t.cacheMu.Lock()
	if len(t.cache) < cacheLimit {
		t.cache[strings.Clone(w)] = slices.Clone(ids) // w points into the caller's text
	}
	t.cacheMu.Unlock()
}

// Decode returns the text of ids, as Hugging Face's decode(ids, skip_special_tokens=False) does.
// For byte-level BPE, tokens are concatenated and bytes that do not form valid UTF-8 (a character
// split across the ends of ids) become U+FFFD. Otherwise the tokens go through tokenizer.json's
// decoder: for Llama 2, "▁" becomes a space, runs of <0xXX> pieces become their text (one U+FFFD
// per byte when they are not valid UTF-8), and one leading space is stripped, so that
// Decode(Encode("Hi")) is "<s> Hi". Ids outside the vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	if !t.byteLevel {
		return t.decodePieces(ids)
	}
	var b strings.Builder
	for _, id := range ids {
		if id >= 0 && id < len(t.tokens) {
			b.WriteString(t.tokens[id])
		}
	}
	return validUTF8(b.String())
}

// TokenText returns the text of one token for display, as it shows in the middle of a text: its
// bytes, with U+FFFD for a partial UTF-8 character, or "" for an id outside the vocabulary. For a
// SentencePiece-style tokenizer that is the token through the decoder, so "▁the" shows as " the".
func (t *Tokenizer) TokenText(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	if !t.byteLevel {
		return validUTF8(t.pieceText(t.tokens[id]))
	}
	return validUTF8(t.tokens[id])
}

// VocabSize returns the number of ids: the largest id of the vocabulary and the added tokens,
// plus one (151,669 for Qwen3, 32,000 for Llama 2 and Mistral v0.1).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// EOS returns the id of tokenizer_config.json's eos_token (<|im_end|> for Qwen3), or -1 when
// it names none.
func (t *Tokenizer) EOS() int { return t.eos }

// Pad returns the id of tokenizer_config.json's pad_token (<|endoftext|> for Qwen3), or -1 when
// it names none.
func (t *Tokenizer) Pad() int { return t.pad }

// SpecialIDs returns the ids of the added tokens marked special, sorted.
func (t *Tokenizer) SpecialIDs() []int { return append([]int(nil), t.special...) }

// Hash returns the hex sha256 of the uncompressed tokenizer.json.
func (t *Tokenizer) Hash() string { return t.hash }

// validUTF8 replaces each maximal ill-formed subsequence of s with U+FFFD, as Rust's
// String::from_utf8_lossy does; s is returned unchanged when it is valid.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || w > 1 {
			b.WriteString(s[i : i+w])
			i += w
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return b.String()
}

// maximalSubpart returns the length of the longest prefix of s (which starts with an invalid
// sequence) that is a prefix of some valid UTF-8 sequence, at least 1.
func maximalSubpart(s string) int {
	c := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if b < lo || b > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
