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
	// Split.
	Pattern  *struct{ Regex, String *string } `json:"pattern"`
	Behavior string                           `json:"behavior"`
	Invert   bool                             `json:"invert"`
	// ByteLevel.
	AddPrefixSpace bool  `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
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
	t.maxID = len(data)
	if err := t.setModel(tj.Model, fail); err != nil {
		return nil, err
	}
	if err := t.setNormalizer(tj.Normalizer, "normalizer", fail); err != nil {
		return nil, err
	}
	if err := t.setPreTokenizer(tj.PreTokenizer, fail); err != nil {
		return nil, err
	}
	if err := t.setPostProcessor(tj.PostProcessor, "post_processor", fail); err != nil {
		return nil, err
	}
	if err := checkDecoder(tj.Decoder, "decoder", fail); err != nil {
		return nil, err
	}
	if err := t.setAdded(tj.AddedTokens, fail); err != nil {
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

// setModel reads the BPE model: vocabulary and merges.
func (t *Tokenizer) setModel(m *modelJSON, fail func(field, format string, args ...any) error) error {
	switch {
	case m == nil:
		return fail("model", "missing")
	case m.Type != "BPE":
		return fail("model.type", "unsupported model type %q (only byte-level \"BPE\" is supported)", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return fail("model.dropout", "unsupported value %v (BPE dropout is random; set it to null)", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return fail("model.continuing_subword_prefix", "unsupported value %q (byte-level BPE has none)", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return fail("model.end_of_word_suffix", "unsupported value %q (byte-level BPE has none)", *m.EndOfWordSuffix)
	case m.ByteFallback:
		return fail("model.byte_fallback", "unsupported (byte-level BPE needs no byte fallback)")
	case isNull(m.Vocab):
		return fail("model.vocab", "missing")
	case isNull(m.Merges):
		return fail("model.merges", "missing")
	}
	v, err := parseVocab(m.Vocab, t.maxID)
	if err != nil {
		return fail("model.vocab", "%v", err)
	}
	t.tokens = v.tokens
	t.ignoreMerges = m.IgnoreMerges
	if t.ignoreMerges {
		t.vocab = v.ids
	}
	for b := range 256 {
		id, ok := v.ids[string([]byte{byte(b)})]
		if !ok {
			return fail("model.vocab", "no entry for byte 0x%02x (%q): not a byte-level vocabulary", b, string(byteLevelAlphabet()[b]))
		}
		t.byteID[b] = id
	}
	t.merges = newMergeTable(len(v.ids))
	var ab []byte
	err = parseMerges(m.Merges, func(rank int, a, b []byte) error {
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
		return fail("model.merges", "%v", err)
	}
	t.vocabSize = len(t.tokens)
	return nil
}

// setNormalizer accepts no normalizer, NFC, or a sequence of those.
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
		t.nfc = true
		return nil
	case "Sequence":
		for i, n := range c.Normalizers {
			if err := t.setNormalizer(n, fmt.Sprintf("%s.normalizers[%d]", field, i), fail); err != nil {
				return err
			}
		}
		return nil
	}
	return fail(field+".type", "unsupported normalizer %q (only NFC is supported)", c.Type)
}

// setPreTokenizer accepts Sequence[Split(known pattern, Isolated), ByteLevel(use_regex=false)].
func (t *Tokenizer) setPreTokenizer(raw json.RawMessage, fail func(field, format string, args ...any) error) error {
	const want = `a Sequence of Split (the Qwen2/Qwen3 or Llama-3 pattern, behavior "Isolated") and ByteLevel (use_regex false)`
	if isNull(raw) {
		return fail("pre_tokenizer", "missing (want %s)", want)
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fail("pre_tokenizer", "%v", err)
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
	if bl.AddPrefixSpace || bl.UseRegex == nil || *bl.UseRegex {
		return fail("pre_tokenizer.pretokenizers[1]", "ByteLevel with add_prefix_space or use_regex is unsupported (want both false)")
	}
	t.split = splitter{classes: bmpClasses(), maxDigits: digits}
	return nil
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

// setAdded registers the added tokens.
func (t *Tokenizer) setAdded(list []addedTokenJSON, fail func(field, format string, args ...any) error) error {
	var raw, normed []addedToken
	for i, a := range list {
		field := fmt.Sprintf("added_tokens[%d] (%q)", i, a.Content)
		switch {
		case a.Content == "":
			return fail(field, "empty content")
		case a.ID < 0:
			return fail(field, "negative id %d", a.ID)
		case a.ID >= t.maxID:
			return fail(field, "id %d is beyond %d, the size of tokenizer.json in bytes, so it cannot be an embedding's row (corrupt file?)", a.ID, t.maxID)
		case a.SingleWord || a.LStrip || a.RStrip:
			return fail(field, "single_word, lstrip and rstrip are unsupported (want false)")
		}
		if a.ID >= len(t.tokens) {
			t.tokens = append(t.tokens, make([]string, a.ID+1-len(t.tokens))...)
		}
		t.tokens[a.ID] = a.Content
		tok := addedToken{content: a.Content, id: a.ID}
		if a.Normalized && t.nfc {
			normed = append(normed, tok)
		} else {
			raw = append(raw, tok)
		}
		if a.Special {
			t.special = append(t.special, a.ID)
		}
	}
	slices.Sort(t.special)
	t.special = slices.Compact(t.special)
	t.added = newAddedMatcher(raw)
	t.addedNorm = newAddedMatcher(normed)
	t.vocabSize = len(t.tokens)
	return nil
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
