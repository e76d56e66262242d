package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// SentencePiece-style BPE (Llama 2, TinyLlama, Mistral): the vocabulary holds characters, not
// byte-level symbols, and "▁" stands for a space. A pre-token is cut into its characters, each
// looked up in the vocabulary; one that is missing becomes one <0xXX> piece per UTF-8 byte (byte
// fallback), else the unknown token. Then the merges apply, as for byte-level BPE. The space
// marks come either from the normalizer (Prepend "▁", Replace " " by "▁") or from the Metaspace
// pre-tokenizer; the decoder turns them back into spaces and the byte pieces back into bytes.

// normStep is one normalizer of tokenizer.json's normalizer (a Sequence is flattened).
type normStep struct {
	kind    normKind
	pattern string // normReplace: the string replaced
	text    string // normPrepend: the prefix; normReplace: the replacement
}

type normKind uint8

const (
	normNFC     normKind = iota // Unicode NFC
	normPrepend                 // put text before a non-empty string
	normReplace                 // replace every pattern by text, leftmost first
)

// normalize applies the normalizers to one piece of text (the text between two added tokens), as
// Hugging Face's normalizer does to each such piece; without prepend, Prepend is left out, for
// text that continues a piece.
func (t *Tokenizer) normalize(s string, prepend bool) string {
	for _, n := range t.normalizers {
		switch n.kind {
		case normNFC:
			s = norm.NFC.String(s)
		case normPrepend:
			if prepend && s != "" {
				s = n.text + s
			}
		case normReplace:
			s = strings.ReplaceAll(s, n.pattern, n.text)
		}
	}
	return s
}

// prependScheme is Metaspace's prepend_scheme: when a piece gets the replacement put before it.
type prependScheme uint8

const (
	prependAlways prependScheme = iota // every piece
	prependFirst                       // only the piece at the start of the text
	prependNever                       // none
)

// metaspace is the Metaspace pre-tokenizer: spaces become the replacement, which is put before
// a piece (by the prepend scheme) unless it starts with one, and with split the piece is cut
// before every replacement.
type metaspace struct {
	rep    string // the replacement character, "▁"
	scheme prependScheme
	split  bool
}

// appendPieces appends the ids of one normalized piece of text (no added tokens in it) of a
// tokenizer that is not byte-level; start is what comes before it. Metaspace puts its replacement
// before a piece that starts the string (prepend_scheme "first" or "always") or follows an added
// token ("always"), never before text that continues a piece.
func (t *Tokenizer) appendPieces(out []int, s string, start textStart, sc *scratch) []int {
	m := t.meta
	if m == nil {
		return t.appendCharWord(out, s, sc)
	}
	s = strings.ReplaceAll(s, " ", m.rep)
	if !strings.HasPrefix(s, m.rep) && (m.scheme == prependAlways && start != afterText || m.scheme == prependFirst && start == atStart) {
		s = m.rep + s
	}
	if !m.split {
		return t.appendCharWord(out, s, sc)
	}
	for s != "" {
		// Cut before the next replacement after the first byte: Hugging Face's split with
		// MergedWithNext, which starts a new pre-token at every replacement character.
		end := len(s)
		if i := strings.Index(s[1:], m.rep); i >= 0 {
			end = i + 1
		}
		out = t.appendCharWord(out, s[:end], sc)
		s = s[end:]
	}
	return out
}

// appendCharWord appends the ids of one pre-token of a tokenizer that is not byte-level, as
// Hugging Face's BPE.merge_word does: each character is looked up in the vocabulary; a missing
// one becomes, with byte fallback, one <0xXX> piece per UTF-8 byte when all of them are in the
// vocabulary, else the unknown token (runs of unknown characters give one when fuse_unk), or
// nothing when there is no unknown token; then the merges apply in rank order. A byte of invalid
// UTF-8 counts as a character of its own (it is never in the vocabulary).
func (t *Tokenizer) appendCharWord(out []int, w string, sc *scratch) []int {
	if w == "" {
		return out
	}
	if out, ok := t.appendKnown(out, w); ok {
		return out
	}
	var ids []int32
	if len(w) <= smallWord {
		ids = sc.ids[:0]
	} else {
		ids = make([]int32, 0, len(w))
	}
	unk := false // an unknown token waits to be added (Hugging Face adds it late)
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		ch := w[i : i+size]
		i += size
		if id, ok := t.vocab[ch]; ok {
			if unk {
				ids = append(ids, t.unkID)
				unk = false
			}
			ids = append(ids, id)
			continue
		}
		if t.byteFallback && t.hasFallback(ch) {
			// As in Hugging Face, the byte pieces go in before a waiting unknown token.
			for k := range len(ch) {
				ids = append(ids, t.fallbackID[ch[k]])
			}
			continue
		}
		if t.unkID >= 0 {
			if unk && !t.fuseUnk {
				ids = append(ids, t.unkID)
			}
			unk = true
		}
	}
	if unk {
		ids = append(ids, t.unkID)
	}
	return t.finishWord(out, w, ids, sc)
}

// hasFallback reports whether every byte of ch has a <0xXX> piece.
func (t *Tokenizer) hasFallback(ch string) bool {
	for k := range len(ch) {
		if t.fallbackID[ch[k]] < 0 {
			return false
		}
	}
	return true
}

// byteToken returns the byte a <0xXX> token stands for, as Hugging Face's ByteFallback decoder
// reads it: six bytes, "<0x", two characters that Rust's u8::from_str_radix(_, 16) accepts (hex
// digits of either case, or '+' and one digit), ">".
func byteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	hi, lo := s[3], s[4]
	if hi == '+' {
		v, ok := hexDigit(lo)
		return v, ok
	}
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeStep is one decoder of tokenizer.json's decoder for a tokenizer that is not byte-level
// (a Sequence is flattened).
type decodeStep struct {
	kind            decodeKind
	pattern, text   string // decodeReplace: every pattern becomes text
	char            rune   // decodeStrip: the character stripped; decodeMetaspace: the replacement
	start, stop     int    // decodeStrip: at most this many at the start and at the end
	dropFirstSpaces bool   // decodeMetaspace: the first token loses its replacements (prepend_scheme not "never")
}

type decodeKind uint8

const (
	decodeReplace      decodeKind = iota // Replace: a string by another, in every token
	decodeByteFallback                   // ByteFallback: runs of <0xXX> tokens become their text
	decodeFuse                           // Fuse: all tokens become one
	decodeStrip                          // Strip: remove the character at the ends of each token
	decodeMetaspace                      // Metaspace: the replacement becomes a space
)

// decodePieces is Decode for a tokenizer that is not byte-level: the tokens (vocabulary pieces
// and added tokens) go through the decoders, as in Hugging Face's decode_chain, and are joined.
func (t *Tokenizer) decodePieces(ids []int) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(t.tokens) && t.tokens[id] != "" {
			toks = append(toks, t.tokens[id])
		}
	}
	if t.noDecoder {
		return strings.Join(toks, " ") // Hugging Face's decode without a decoder
	}
	return strings.Join(t.runDecoders(toks, false), "")
}

// runDecoders applies the decoders to toks. With alone, toks is a single token shown on its own,
// as in the middle of a text: Strip and Metaspace's special case of the first token do not apply.
func (t *Tokenizer) runDecoders(toks []string, alone bool) []string {
	for _, d := range t.decoders {
		switch d.kind {
		case decodeReplace:
			for i, s := range toks {
				toks[i] = strings.ReplaceAll(s, d.pattern, d.text)
			}
		case decodeByteFallback:
			toks = byteFallback(toks)
		case decodeFuse:
			toks = []string{strings.Join(toks, "")}
		case decodeStrip:
			if alone {
				continue
			}
			for i, s := range toks {
				toks[i] = strip(s, d.char, d.start, d.stop)
			}
		case decodeMetaspace:
			for i, s := range toks {
				space := " "
				if i == 0 && d.dropFirstSpaces && !alone {
					space = ""
				}
				toks[i] = strings.ReplaceAll(s, string(d.char), space)
			}
		}
	}
	return toks
}

// byteFallback is Hugging Face's ByteFallback decoder: each run of <0xXX> tokens becomes the
// string of its bytes, or, when they are not valid UTF-8, one U+FFFD per byte.
func byteFallback(toks []string) []string {
	out := make([]string, 0, len(toks))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, s := range toks {
		if b, ok := byteToken(s); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// strip is Hugging Face's Strip decoder on one token: up to start leading and stop trailing
// copies of c are removed.
func strip(s string, c rune, start, stop int) string {
	r := []rune(s)
	lo := 0
	for lo < len(r) && lo < start && r[lo] == c {
		lo++
	}
	hi := len(r)
	for hi > lo && len(r)-hi < stop && r[hi-1] == c {
		hi--
	}
	return string(r[lo:hi])
}

// pieceText is TokenText for a tokenizer that is not byte-level: the token through the decoders,
// as it shows in the middle of a text ("▁the" is " the", "<0x0A>" a newline).
func (t *Tokenizer) pieceText(tok string) string {
	if t.noDecoder {
		return tok
	}
	return strings.Join(t.runDecoders([]string{tok}, true), "")
}
