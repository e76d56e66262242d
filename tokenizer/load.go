package tokenizer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// File names inside a tokenizer directory.
const (
	tokenizerFile   = "tokenizer.json"
	tokenizerGzFile = "tokenizer.json.gz"
	configFile      = "tokenizer_config.json"
)

//go:embed qwen3/tokenizer.json.gz qwen3/tokenizer_config.json
var qwen3Files embed.FS

// qwen3 parses the embedded Qwen3 files once; the result is immutable (but for its
// concurrency-safe cache) and shared.
var qwen3 = sync.OnceValues(func() (*Tokenizer, error) {
	sub, err := fs.Sub(qwen3Files, "qwen3")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded Qwen3 files: %w", err)
	}
	t, err := loadFS(sub, "qwen3 (embedded)")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded Qwen3 files: %w", err)
	}
	return t, nil
})

// Qwen3 returns the Qwen3 tokenizer built into the package (the files of tokenizer/qwen3, shared
// by the whole Qwen3 family). The files are parsed on the first call; later calls return the same
// *Tokenizer, which is safe for concurrent use.
func Qwen3() (*Tokenizer, error) { return qwen3() }

// Load reads a tokenizer from dir: tokenizer.json (or, when that is absent, tokenizer.json.gz) and
// tokenizer_config.json, as found in a Hugging Face model repository.
func Load(dir string) (*Tokenizer, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is not a directory (give the directory that holds %s and %s)",
			dir, tokenizerFile, configFile)
	}
	return loadFS(os.DirFS(dir), dir)
}

// loadFS loads the tokenizer files from fsys; dir names it in errors.
func loadFS(fsys fs.FS, dir string) (*Tokenizer, error) {
	tokPath := filepath.Join(dir, tokenizerFile)
	data, err := fs.ReadFile(fsys, tokenizerFile)
	if errors.Is(err, fs.ErrNotExist) {
		tokPath = filepath.Join(dir, tokenizerGzFile)
		data, err = readGzip(fsys, tokenizerGzFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tokenizer: %s: found neither %s nor %s (copy them from the model's Hugging Face repository)",
				dir, tokenizerFile, tokenizerGzFile)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", tokPath, err)
	}
	cfgPath := filepath.Join(dir, configFile)
	cfg, err := fs.ReadFile(fsys, configFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("tokenizer: %s: missing (it names the eos and pad tokens; copy it from the model's Hugging Face repository)", cfgPath)
		}
		return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
	}
	t, err := parse(data, tokPath, cfg, cfgPath)
	if err != nil {
		return nil, err
	}
	t.chat = loadChatTemplate(fsys, dir, cfg)
	return t, nil
}

// maxTokenizerSize bounds the size of a gzipped tokenizer.json once unpacked; Qwen3's is 11 MB.
const maxTokenizerSize = 512 << 20

// readGzip reads and decompresses a gzip file.
func readGzip(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(zr, maxTokenizerSize+1)); err != nil {
		return nil, fmt.Errorf("gunzip: %w (the file is damaged or truncated)", err)
	}
	if buf.Len() > maxTokenizerSize {
		return nil, fmt.Errorf("gunzip: unpacks to more than %d MiB, far more than any tokenizer.json (corrupt file?)", maxTokenizerSize>>20)
	}
	return buf.Bytes(), nil
}

// tokenizerJSON is the part of tokenizer.json this package reads.
type tokenizerJSON struct {
	Truncation    json.RawMessage  `json:"truncation"`
	Padding       json.RawMessage  `json:"padding"`
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         *modelJSON       `json:"model"`
}

type addedTokenJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	ByteFallback            bool            `json:"byte_fallback"`
	UnkToken                *string         `json:"unk_token"`
	FuseUnk                 bool            `json:"fuse_unk"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// component is the shape shared by normalizers, pre-tokenizers, post-processors and decoders.
type component struct {
	Type string `json:"type"`
	// Sequence members (normalizers, pretokenizers, processors, decoders).
	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	Decoders      []json.RawMessage `json:"decoders"`
	// Split; Replace (normalizer and decoder).
	Pattern  *struct{ Regex, String *string } `json:"pattern"`
	Behavior string                           `json:"behavior"`
	Invert   bool                             `json:"invert"`
	// Replace, Strip.
	Content *string `json:"content"`
	// Prepend.
	Prepend *string `json:"prepend"`
	// Strip.
	Start, Stop int
	// ByteLevel, Metaspace.
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// Metaspace.
	Replacement   *string `json:"replacement"`
	PrependScheme *string `json:"prepend_scheme"`
	MetaSplit     *bool   `json:"split"`
	// TemplateProcessing.
	Single        []templatePiece                `json:"single"`
	SpecialTokens map[string]struct{ IDs []int } `json:"special_tokens"`
}

type templatePiece struct {
	SpecialToken *struct{ ID string } `json:"SpecialToken"`
	Sequence     *struct{ ID string } `json:"Sequence"`
}

// isNull reports whether a JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// jsonError describes a JSON decoding error, with the byte offset of a syntax error.
func jsonError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at byte %d: %w", syn.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		return fmt.Errorf("invalid JSON: %w (the file is truncated; download it again)", err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// parse builds a Tokenizer from the bytes of tokenizer.json and tokenizer_config.json; the paths
// name them in errors.
func parse(data []byte, tokPath string, cfgData []byte, cfgPath string) (*Tokenizer, error) {
	// Hash before decoding: hashing while the collector works through the decoding's garbage
	// was measured to take seconds instead of milliseconds on a busy machine.
	sum := sha256sum(data)
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", tokPath, jsonError(err))
	}
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: %s: %s", tokPath, field, fmt.Sprintf(format, args...))
	}
	t := &Tokenizer{hash: hex.EncodeToString(sum[:]), cache: map[string][]int32{}}

	if !isNull(tj.Truncation) {
		return nil, fail("truncation", "unsupported (set it to null; truncation is done by the caller)")
	}
	if !isNull(tj.Padding) {
		return nil, fail("padding", "unsupported (set it to null; padding is done by the caller)")
	}
	// An id beyond the file's size would size the id table from a corrupt number, not from
	// the file (an embedding's rows are counted from 0, and a file holds fewer tokens than bytes).
	maxID := len(data)
	// The pre-tokenizer tells byte-level BPE, whose vocabulary is written in byte-level
	// symbols, from SentencePiece-style BPE, whose vocabulary is plain text.
	if err := t.setPreTokenizer(tj.PreTokenizer, fail); err != nil {
		return nil, err
	}
	vocab, err := t.setModel(tj.Model, maxID, fail)
	if err != nil {
		return nil, err
	}
	if err := t.setNormalizer(tj.Normalizer, "normalizer", fail); err != nil {
		return nil, err
	}
	if t.meta != nil && len(t.normalizers) > 0 {
		return nil, fail("normalizer", "unsupported together with the Metaspace pre-tokenizer (want null)")
	}
	if err := t.setPostProcessor(tj.PostProcessor, "post_processor", fail); err != nil {
		return nil, err
	}
	if t.byteLevel {
		if err := checkDecoder(tj.Decoder, "decoder", fail); err != nil {
			return nil, err
		}
	} else if isNull(tj.Decoder) {
		t.noDecoder = true
	} else if err := t.setDecoder(tj.Decoder, "decoder", fail); err != nil {
		return nil, err
	}
	if err := t.setAdded(tj.AddedTokens, vocab, maxID, fail); err != nil {
		return nil, err
	}
	for _, id := range slices.Concat(t.prefix, t.suffix) {
		if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
			return nil, fail("post_processor", "TemplateProcessing adds id %d, which is neither in model.vocab nor an added token", id)
		}
	}
	if err := t.setConfig(cfgData, cfgPath); err != nil {
		return nil, err
	}
	return t, nil
}

// setModel reads the BPE model: vocabulary, merges, and for a tokenizer that is not byte-level
// the byte fallback and unknown token.
func (t *Tokenizer) setModel(m *modelJSON, maxID int, fail func(field, format string, args ...any) error) (map[string]int32, error) {
	switch {
	case m == nil:
		return nil, fail("model", "missing")
	case m.Type != "BPE":
		return nil, fail("model.type", "unsupported model type %q (only \"BPE\" is supported)", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fail("model.dropout", "unsupported value %v (BPE dropout is random; set it to null)", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, fail("model.continuing_subword_prefix", "unsupported value %q (only BPE without one is supported)", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, fail("model.end_of_word_suffix", "unsupported value %q (only BPE without one is supported)", *m.EndOfWordSuffix)
	case m.ByteFallback && t.byteLevel:
		return nil, fail("model.byte_fallback", "unsupported with the ByteLevel pre-tokenizer (byte-level BPE needs no byte fallback)")
	case isNull(m.Vocab):
		return nil, fail("model.vocab", "missing")
	case isNull(m.Merges):
		return nil, fail("model.merges", "missing")
	}
	v, err := parseVocab(m.Vocab, maxID, t.byteLevel)
	if err != nil {
		return nil, fail("model.vocab", "%v", err)
	}
	t.tokens = v.tokens
	t.ignoreMerges = m.IgnoreMerges
	if t.ignoreMerges || !t.byteLevel {
		t.vocab = v.ids
	}
	if t.byteLevel {
		for b := range 256 {
			id, ok := v.ids[string([]byte{byte(b)})]
			if !ok {
				return nil, fail("model.vocab", "no entry for byte 0x%02x (%q): not a byte-level vocabulary", b, string(byteLevelAlphabet()[b]))
			}
			t.byteID[b] = id
		}
	} else {
		t.byteFallback, t.fuseUnk, t.unkID = m.ByteFallback, m.FuseUnk, -1
		for b := range 256 {
			// The names Hugging Face looks up: format!("<{b:#04X}>").
			t.fallbackID[b] = -1
			if id, ok := v.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.fallbackID[b] = id
			}
		}
		if m.UnkToken != nil {
			id, ok := v.ids[*m.UnkToken]
			if !ok {
				return nil, fail("model.unk_token", "%q is not in model.vocab", *m.UnkToken)
			}
			t.unkID = id
		}
	}
	t.merges = newMergeTable(len(v.ids))
	var ab []byte
	err = parseMerges(m.Merges, t.byteLevel, func(rank int, a, b []byte) error {
		idA, okA := v.ids[string(a)]
		idB, okB := v.ids[string(b)]
		ab = append(append(ab[:0], a...), b...)
		idAB, okAB := v.ids[string(ab)]
		if !okA || !okB || !okAB {
			return fmt.Errorf("merge %d (%q %q) uses a token missing from model.vocab", rank, a, b)
		}
		t.merges.add(idA, idB, uint32(rank), idAB)
		return nil
	})
	if err != nil {
		return nil, fail("model.merges", "%v", err)
	}
	t.vocabSize = len(t.tokens)
	return v.ids, nil
}

// setNormalizer accepts no normalizer, NFC, Prepend, Replace of a String pattern, or a sequence
// of those.
func (t *Tokenizer) setNormalizer(raw json.RawMessage, field string, fail func(field, format string, args ...any) error) error {
	if isNull(raw) {
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail(field, "%v", err)
	}
	switch c.Type {
	case "NFC":
		t.normalizers = append(t.normalizers, normStep{kind: normNFC})
		return nil
	case "Prepend":
		if c.Prepend == nil {
			return fail(field+".prepend", "missing")
		}
		t.normalizers = append(t.normalizers, normStep{kind: normPrepend, text: *c.Prepend})
		return nil
	case "Replace":
		pattern, err := stringPattern(c, field, fail)
		if err != nil {
			return err
		}
		t.normalizers = append(t.normalizers, normStep{kind: normReplace, pattern: pattern, text: *c.Content})
		return nil
	case "Sequence":
		for i, n := range c.Normalizers {
			if err := t.setNormalizer(n, fmt.Sprintf("%s.normalizers[%d]", field, i), fail); err != nil {
				return err
			}
		}
		return nil
	}
	return fail(field+".type", "unsupported normalizer %q (only NFC, Prepend and Replace are supported)", c.Type)
}

// stringPattern checks a Replace normalizer or decoder: a non-empty String pattern and a
// content; it returns the pattern.
func stringPattern(c component, field string, fail func(field, format string, args ...any) error) (string, error) {
	switch {
	case c.Pattern == nil:
		return "", fail(field+".pattern", "missing")
	case c.Pattern.String == nil:
		return "", fail(field+".pattern", "unsupported (only a String pattern is supported, not a Regex)")
	case *c.Pattern.String == "":
		return "", fail(field+".pattern.String", "empty")
	case c.Content == nil:
		return "", fail(field+".content", "missing")
	}
	return *c.Pattern.String, nil
}

// setPreTokenizer accepts Sequence[Split(known pattern, Isolated), ByteLevel(use_regex=false)],
// which makes the tokenizer byte-level, or, for SentencePiece-style BPE, none or Metaspace.
func (t *Tokenizer) setPreTokenizer(raw json.RawMessage, fail func(field, format string, args ...any) error) error {
	const want = `a Sequence of Split (the Qwen2/Qwen3 or Llama-3 pattern, behavior "Isolated") and ByteLevel (use_regex false), Metaspace, or null`
	if isNull(raw) {
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail("pre_tokenizer", "%v", err)
	}
	if c.Type == "Metaspace" {
		return t.setMetaspace(c, fail)
	}
	if c.Type != "Sequence" || len(c.Pretokenizers) != 2 {
		return fail("pre_tokenizer", "unsupported pre-tokenizer %q with %d members (want %s)", c.Type, len(c.Pretokenizers), want)
	}
	var split, bl component
	if err := json.Unmarshal(c.Pretokenizers[0], &split); err != nil {
		return fail("pre_tokenizer.pretokenizers[0]", "%v", err)
	}
	if err := json.Unmarshal(c.Pretokenizers[1], &bl); err != nil {
		return fail("pre_tokenizer.pretokenizers[1]", "%v", err)
	}
	if split.Type != "Split" {
		return fail("pre_tokenizer.pretokenizers[0].type", "unsupported pre-tokenizer %q (want Split)", split.Type)
	}
	if split.Pattern == nil || split.Pattern.Regex == nil {
		return fail("pre_tokenizer.pretokenizers[0].pattern", "want a Regex pattern")
	}
	digits, ok := knownPatterns()[*split.Pattern.Regex]
	if !ok {
		return fail("pre_tokenizer.pretokenizers[0].pattern.Regex", "unsupported pattern %q (only the Qwen2/Qwen3 and Llama-3 patterns are supported)", *split.Pattern.Regex)
	}
	if split.Behavior != "Isolated" || split.Invert {
		return fail("pre_tokenizer.pretokenizers[0].behavior", "unsupported behavior %q (invert %v); want \"Isolated\" (invert false)", split.Behavior, split.Invert)
	}
	if bl.Type != "ByteLevel" {
		return fail("pre_tokenizer.pretokenizers[1].type", "unsupported pre-tokenizer %q (want ByteLevel)", bl.Type)
	}
	if (bl.AddPrefixSpace != nil && *bl.AddPrefixSpace) || bl.UseRegex == nil || *bl.UseRegex {
		return fail("pre_tokenizer.pretokenizers[1]", "ByteLevel with add_prefix_space or use_regex is unsupported (want both false)")
	}
	t.split = splitter{classes: bmpClasses(), maxDigits: digits}
	t.byteLevel = true
	return nil
}

// setMetaspace reads the Metaspace pre-tokenizer, with the defaults and checks of Hugging Face's
// reader (prepend_scheme "always" and split true when absent).
func (t *Tokenizer) setMetaspace(c component, fail func(field, format string, args ...any) error) error {
	rep, scheme, err := metaspaceOptions(c, "pre_tokenizer", fail)
	if err != nil {
		return err
	}
	t.meta = &metaspace{rep: string(rep), scheme: scheme, split: c.MetaSplit == nil || *c.MetaSplit}
	return nil
}

// metaspaceOptions reads the replacement and prepend scheme of a Metaspace pre-tokenizer or
// decoder at field.
func metaspaceOptions(c component, field string, fail func(field, format string, args ...any) error) (rune, prependScheme, error) {
	if c.Replacement == nil || utf8.RuneCountInString(*c.Replacement) != 1 {
		return 0, 0, fail(field+".replacement", "want one character")
	}
	rep, _ := utf8.DecodeRuneInString(*c.Replacement)
	scheme := prependAlways
	if c.PrependScheme != nil {
		switch *c.PrependScheme {
		case "always":
		case "first":
			scheme = prependFirst
		case "never":
			scheme = prependNever
		default:
			return 0, 0, fail(field+".prepend_scheme", "unknown value %q (want \"always\", \"first\" or \"never\")", *c.PrependScheme)
		}
	}
	if c.AddPrefixSpace != nil && !*c.AddPrefixSpace {
		// Older files: add_prefix_space false means prepend_scheme "never"; Hugging Face refuses
		// it beside another scheme (which "always" is when prepend_scheme is absent).
		if scheme != prependNever {
			return 0, 0, fail(field+".add_prefix_space", "false does not match prepend_scheme (Hugging Face refuses this file too)")
		}
	}
	return rep, scheme, nil
}

// setPostProcessor accepts none, ByteLevel (which changes only offsets), TemplateProcessing (its
// single-sequence template) or a sequence of those.
func (t *Tokenizer) setPostProcessor(raw json.RawMessage, field string, fail func(field, format string, args ...any) error) error {
	if isNull(raw) {
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail(field, "%v", err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for i, p := range c.Processors {
			if err := t.setPostProcessor(p, fmt.Sprintf("%s.processors[%d]", field, i), fail); err != nil {
				return err
			}
		}
		return nil
	case "TemplateProcessing":
		if len(t.prefix)+len(t.suffix) > 0 {
			return fail(field, "more than one TemplateProcessing")
		}
		seen := false
		for i, p := range c.Single {
			switch {
			case p.Sequence != nil:
				if seen || p.Sequence.ID != "A" {
					return fail(fmt.Sprintf("%s.single[%d]", field, i), "unsupported template (want one sequence A)")
				}
				seen = true
			case p.SpecialToken != nil:
				st, ok := c.SpecialTokens[p.SpecialToken.ID]
				if !ok {
					return fail(fmt.Sprintf("%s.single[%d]", field, i), "special token %q missing from special_tokens", p.SpecialToken.ID)
				}
				if seen {
					t.suffix = append(t.suffix, st.IDs...)
				} else {
					t.prefix = append(t.prefix, st.IDs...)
				}
			default:
				return fail(fmt.Sprintf("%s.single[%d]", field, i), "unsupported template piece")
			}
		}
		if !seen {
			return fail(field+".single", "no sequence A in the template")
		}
		return nil
	}
	return fail(field+".type", "unsupported post-processor %q (only ByteLevel and TemplateProcessing are supported)", c.Type)
}

// checkDecoder accepts the ByteLevel decoder (or a sequence holding only it).
func checkDecoder(raw json.RawMessage, field string, fail func(field, format string, args ...any) error) error {
	if isNull(raw) {
		return fail(field, "missing (want ByteLevel)")
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail(field, "%v", err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for i, d := range c.Decoders {
			if err := checkDecoder(d, fmt.Sprintf("%s.decoders[%d]", field, i), fail); err != nil {
				return err
			}
		}
		if len(c.Decoders) > 0 {
			return nil
		}
	}
	return fail(field+".type", "unsupported decoder %q (only ByteLevel is supported)", c.Type)
}

// setDecoder reads the decoder of a tokenizer that is not byte-level: Replace (String pattern),
// ByteFallback, Fuse, Strip, Metaspace, or a sequence of those.
func (t *Tokenizer) setDecoder(raw json.RawMessage, field string, fail func(field, format string, args ...any) error) error {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail(field, "%v", err)
	}
	switch c.Type {
	case "Replace":
		pattern, err := stringPattern(c, field, fail)
		if err != nil {
			return err
		}
		t.decoders = append(t.decoders, decodeStep{kind: decodeReplace, pattern: pattern, text: *c.Content})
	case "ByteFallback":
		t.decoders = append(t.decoders, decodeStep{kind: decodeByteFallback})
	case "Fuse":
		t.decoders = append(t.decoders, decodeStep{kind: decodeFuse})
	case "Strip":
		if c.Content == nil || utf8.RuneCountInString(*c.Content) != 1 {
			return fail(field+".content", "want one character")
		}
		if c.Start < 0 || c.Stop < 0 {
			return fail(field, "negative start or stop")
		}
		r, _ := utf8.DecodeRuneInString(*c.Content)
		t.decoders = append(t.decoders, decodeStep{kind: decodeStrip, char: r, start: c.Start, stop: c.Stop})
	case "Metaspace":
		rep, scheme, err := metaspaceOptions(c, field, fail)
		if err != nil {
			return err
		}
		t.decoders = append(t.decoders, decodeStep{kind: decodeMetaspace, char: rep, dropFirstSpaces: scheme != prependNever})
	case "Sequence":
		for i, d := range c.Decoders {
			if err := t.setDecoder(d, fmt.Sprintf("%s.decoders[%d]", field, i), fail); err != nil {
				return err
			}
		}
	case "ByteLevel":
		return fail(field+".type", "the ByteLevel decoder needs the ByteLevel pre-tokenizer (a byte-level vocabulary)")
	default:
		return fail(field+".type", "unsupported decoder %q (without the ByteLevel pre-tokenizer, only Replace, ByteFallback, Fuse, Strip and Metaspace are supported)", c.Type)
	}
	return nil
}

// setAdded registers the added tokens. Their ids must be those Hugging Face's tokenizers gives
// them, which, reading a file, takes a token's id from model.vocab when the vocabulary holds its
// content and otherwise numbers the tokens in order from the size of model.vocab, whatever ids
// the file writes: a file whose ids differ (edited by hand) is refused rather than read with ids
// that differ from Hugging Face's.
func (t *Tokenizer) setAdded(list []addedTokenJSON, vocab map[string]int32, maxID int, fail func(field, format string, args ...any) error) error {
	var raw, normed []addedToken
	var dec *byteLevelDecoder // reads a byte-level vocabulary's symbols
	if t.byteLevel {
		dec = newByteLevelDecoder()
	}
	next := len(vocab)           // Hugging Face's id of the next token missing from model.vocab
	seen := make(map[string]int) // content -> index in list
	for i, a := range list {
		field := fmt.Sprintf("added_tokens[%d] (%q)", i, a.Content)
		switch {
		case a.Content == "":
			return fail(field, "empty content")
		case a.ID < 0:
			return fail(field, "negative id %d", a.ID)
		case a.ID >= maxID:
			return fail(field, "id %d is beyond %d, the size of tokenizer.json in bytes, so it cannot be an embedding's row (corrupt file?)", a.ID, maxID)
		case a.SingleWord || a.LStrip || a.RStrip:
			return fail(field, "single_word, lstrip and rstrip are unsupported (want false)")
		}
		if j, dup := seen[a.Content]; dup {
			return fail(field, "same content as added_tokens[%d]", j)
		}
		seen[a.Content] = i
		want, inVocab := vocabID(vocab, dec, a.Content)
		if !inVocab {
			want = next
			next++
		}
		if a.ID != want {
			why := "the next number after model.vocab's entries and the added tokens before it"
			if inVocab {
				why = "model.vocab's id for it"
			}
			return fail(field, "id %d, but Hugging Face's tokenizers gives it id %d (%s); the file's ids were edited by hand", a.ID, want, why)
		}
		if a.ID >= len(t.tokens) {
			t.tokens = append(t.tokens, make([]string, a.ID+1-len(t.tokens))...)
		}
		t.tokens[a.ID] = a.Content
		if a.Normalized {
			// Matched in the normalized text, as its normalized form (Hugging Face's
			// split_normalized_trie): with Llama 2's normalizer "</s>" would be "▁</s>".
			normed = append(normed, addedToken{content: t.normalize(a.Content, true), id: a.ID})
		} else {
			raw = append(raw, addedToken{content: a.Content, id: a.ID})
		}
		if a.Special {
			t.special = append(t.special, a.ID)
		}
	}
	slices.Sort(t.special)
	t.special = slices.Compact(t.special)
	t.added = newAddedMatcher(raw)
	t.addedNorm = newAddedMatcher(normed)
	t.addedRaw, t.addedNormed = addedIDs(raw), addedIDs(normed)
	t.vocabSize = len(t.tokens)
	return nil
}

// addedIDs returns the set of the ids of toks.
func addedIDs(toks []addedToken) map[int]bool {
	ids := make(map[int]bool, len(toks))
	for _, tok := range toks {
		ids[tok.id] = true
	}
	return ids
}

// vocabID returns the id vocab (model.vocab, keyed by the bytes each token stands for) gives the
// token string s, as Hugging Face's model.token_to_id(s) does: with dec (byte-level BPE) s is
// read as byte-level symbols.
func vocabID(vocab map[string]int32, dec *byteLevelDecoder, s string) (int, bool) {
	key, ok := appendSymbols(nil, []byte(s), dec)
	if !ok {
		return 0, false
	}
	id, ok := vocab[string(key)]
	return int(id), ok
}

// setConfig reads eos_token and pad_token from tokenizer_config.json.
func (t *Tokenizer) setConfig(data []byte, path string) error {
	var cfg struct {
		EOS json.RawMessage `json:"eos_token"`
		Pad json.RawMessage `json:"pad_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("tokenizer: %s: %w", path, jsonError(err))
	}
	var err error
	if t.eos, err = t.configToken(cfg.EOS); err != nil {
		return fmt.Errorf("tokenizer: %s: eos_token: %w", path, err)
	}
	if t.pad, err = t.configToken(cfg.Pad); err != nil {
		return fmt.Errorf("tokenizer: %s: pad_token: %w", path, err)
	}
	return nil
}

// configToken resolves a token of tokenizer_config.json, written as a string or as an object with
// "content", to its id; -1 when it is absent or null.
func (t *Tokenizer) configToken(raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return -1, nil
	}
	var content string
	if err := json.Unmarshal(raw, &content); err != nil {
		var obj struct{ Content string }
		if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == "" {
			return -1, fmt.Errorf("want a string or an object with \"content\", got %s", raw)
		}
		content = obj.Content
	}
	for id := len(t.tokens) - 1; id >= 0; id-- { // added tokens come last
		if t.tokens[id] == content {
			return id, nil
		}
	}
	return -1, fmt.Errorf("token %q is not in tokenizer.json", content)
}

// sha256sum hashes data in 64 KiB chunks, so that the goroutine stays preemptible between the
// assembly block calls instead of running one call over all 11 MB.
func sha256sum(data []byte) [sha256.Size]byte {
	h := sha256.New()
	for len(data) > 0 {
		n := min(len(data), 1<<16)
		h.Write(data[:n])
		data = data[n:]
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
