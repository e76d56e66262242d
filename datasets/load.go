package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/sftlab/sftlab/tokenizer"
)

// BuiltinPrefix starts a dataset spec that names a built-in dataset, as in "builtin:teaching_zh".
const BuiltinPrefix = "builtin:"

// MaxRecordBytes bounds one record of a dataset file: a JSONL line, one record of a .json
// file, or the text fields of one Parquet or Arrow row together. 1 MiB is some 300,000 tokens
// of Chinese text, far beyond any context; a larger record is refused with its line or row,
// before anything tokenizes it.
const MaxRecordBytes = 1 << 20

// errTooLarge describes a record over MaxRecordBytes.
func errTooLarge(size int) error {
	return fmt.Errorf("record of %d bytes exceeds the limit of %d bytes (1 MiB, datasets.MaxRecordBytes): shorten or split it", size, MaxRecordBytes)
}

// checkUTF8 returns an error naming the first byte of data that is not valid UTF-8 (its byte
// column in its line), with the number of lines before that one, or nil. Go's JSON decoder
// would silently turn such bytes into U+FFFD, and the model would train on that.
func checkUTF8(data []byte) (linesBefore int, err error) {
	if utf8.Valid(data) {
		return 0, nil
	}
	bad := 0
	for bad < len(data) {
		r, size := utf8.DecodeRune(data[bad:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		bad += size
	}
	col := bad - bytes.LastIndexByte(data[:bad], '\n')
	return bytes.Count(data[:bad], []byte{'\n'}), fmt.Errorf("byte %d of the line (0x%02x) is not valid UTF-8: save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)", col, data[bad])
}

// Load reads the records named by spec: "builtin:NAME" for a built-in dataset, or a path to a
// .jsonl/.ndjson (one record per line), .json (an array of records, or objects one after
// another), .parquet or .arrow/.ipc/.feather
// (Arrow IPC) file. Records are alpaca-shaped (instruction, input, output; task optional) or
// chat-shaped (messages: a list of {role, content}); the shape is detected per file and every
// record of a file must have the same shape. An empty dataset is an error.
func Load(spec string) ([]Record, error) {
	if name, ok := strings.CutPrefix(spec, BuiltinPrefix); ok {
		return loadBuiltin(name)
	}
	var recs []Record
	var err error
	switch ext := strings.ToLower(filepath.Ext(spec)); ext {
	case ".jsonl", ".ndjson":
		recs, err = loadJSONL(spec)
	case ".json":
		recs, err = loadJSON(spec)
	case ".parquet":
		recs, err = loadParquet(spec)
	case ".arrow", ".ipc", ".feather":
		recs, err = loadArrow(spec)
	default:
		return nil, fmt.Errorf("dataset %s: unknown extension %q: use .jsonl, .json, .parquet or .arrow, or a built-in dataset such as %q",
			spec, ext, BuiltinPrefix+"teaching_zh")
	}
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("dataset %s: empty dataset: the file holds no records; add at least one record", spec)
	}
	return recs, nil
}

// rawRecord is one record as found in a JSON file, before validation.
type rawRecord struct {
	Task        *string      `json:"task"`
	Instruction *string      `json:"instruction"`
	Input       *string      `json:"input"`
	Output      *string      `json:"output"`
	Messages    []rawMessage `json:"messages"`
	hasMessages bool
}

type rawMessage struct {
	Role    *string `json:"role"`
	Content *string `json:"content"`
}

// shape is the layout of a record: alpaca or chat.
type shape int

const (
	shapeUnknown shape = iota
	shapeAlpaca
	shapeChat
)

func (s shape) String() string {
	switch s {
	case shapeAlpaca:
		return "alpaca (instruction, input, output)"
	case shapeChat:
		return "chat (messages)"
	}
	return "unknown"
}

// parseJSONRecord decodes one JSON object into a rawRecord.
func parseJSONRecord(data []byte) (rawRecord, error) {
	var raw rawRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field == "" {
			return raw, fmt.Errorf("the record is a JSON %s, want an object", ute.Value)
		}
		if errors.As(err, &ute) {
			return raw, fmt.Errorf("field %q has a JSON %s, want %s", ute.Field, ute.Value, jsonTypeName(ute.Type.String()))
		}
		return raw, fmt.Errorf("bad JSON: %w", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return raw, fmt.Errorf("bad JSON: %w", err)
	}
	_, raw.hasMessages = keys["messages"]
	return raw, nil
}

func jsonTypeName(goType string) string {
	switch {
	case strings.Contains(goType, "[]"):
		return "an array"
	case strings.Contains(goType, "string"):
		return "a string"
	}
	return "an object"
}

// toRecord validates raw and converts it to a Record of the given shape (or the shape raw has,
// when want is shapeUnknown).
func (raw rawRecord) toRecord(want shape) (Record, shape, error) {
	got := shapeAlpaca
	if raw.hasMessages {
		got = shapeChat
		if raw.Output != nil || raw.Instruction != nil || raw.Input != nil {
			return Record{}, got, errors.New(`record has both "messages" and alpaca fields; keep one shape per record`)
		}
	}
	if want != shapeUnknown && got != want {
		return Record{}, got, fmt.Errorf("record is %s but the file's first record is %s; keep one shape per file", got, want)
	}
	r := Record{Task: deref(raw.Task)}
	if got == shapeChat {
		for i, m := range raw.Messages {
			if m.Role == nil || m.Content == nil {
				return Record{}, got, fmt.Errorf("messages[%d]: missing \"role\" or \"content\"; each message needs both", i)
			}
			r.Messages = append(r.Messages, tokenizer.Message{Role: *m.Role, Content: *m.Content})
		}
		return r, got, validateChat(r.Messages)
	}
	switch {
	case raw.Output == nil:
		return Record{}, got, errors.New(`missing field "output": each alpaca record needs "instruction", "input" (may be "") and "output"`)
	case raw.Instruction == nil && raw.Input == nil:
		return Record{}, got, errors.New(`missing fields "instruction" and "input": give at least one, or use "messages" for chat records`)
	}
	r.Instruction, r.Input, r.Output = deref(raw.Instruction), deref(raw.Input), deref(raw.Output)
	return r, got, validateAlpaca(r)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// validateAlpaca checks the fields of an alpaca record.
func validateAlpaca(r Record) error {
	switch {
	case r.Output == "":
		return errors.New(`field "output" is empty: there is nothing to learn; remove the record or fill in the output`)
	case r.Instruction == "" && r.Input == "":
		return errors.New(`fields "instruction" and "input" are both empty: fill in at least one`)
	}
	return nil
}

// validateChat checks the messages of a chat record: known roles, a system message only first,
// and an assistant message last.
func validateChat(msgs []tokenizer.Message) error {
	if len(msgs) == 0 {
		return errors.New(`"messages" is empty: give at least a user and an assistant message`)
	}
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem:
			if i != 0 {
				return fmt.Errorf("messages[%d]: a system message may only come first", i)
			}
		case RoleUser, RoleAssistant:
		default:
			return fmt.Errorf("messages[%d]: unknown role %q: use %q, %q or %q", i, m.Role, RoleSystem, RoleUser, RoleAssistant)
		}
	}
	if last := msgs[len(msgs)-1]; last.Role != RoleAssistant {
		return fmt.Errorf("messages[%d]: the last message has role %q; a training conversation must end with an %q message",
			len(msgs)-1, last.Role, RoleAssistant)
	}
	return nil
}

// jsonRecords collects the records of one JSON file, checking they all have the same shape.
type jsonRecords struct {
	want shape
	recs []Record
}

// add parses one JSON object and appends its record.
func (j *jsonRecords) add(data []byte) error {
	raw, err := parseJSONRecord(data)
	if err != nil {
		return err
	}
	r, got, err := raw.toRecord(j.want)
	if err != nil {
		return err
	}
	j.want = got
	j.recs = append(j.recs, r)
	return nil
}

// loadJSONL reads one JSON record per line from the file at path.
func loadJSONL(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	defer f.Close()
	return readJSONL(path, f)
}

// readJSONL reads one JSON record per line from r; blank lines are skipped. name is used in errors.
func readJSONL(name string, r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	// Room for a line of MaxRecordBytes with its line end; anything longer stops the scan.
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordBytes+2)
	var j jsonRecords
	line := 1
	for ; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		if len(text) == 0 {
			continue
		}
		if len(text) > MaxRecordBytes {
			return nil, fmt.Errorf("dataset %s:%d: %w", name, line, errTooLarge(len(text)))
		}
		if _, err := checkUTF8(sc.Bytes()); err != nil {
			return nil, fmt.Errorf("dataset %s:%d: %w", name, line, err)
		}
		if err := j.add(text); err != nil {
			return nil, fmt.Errorf("dataset %s:%d: %w (each line must be one JSON object)", name, line, err)
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("dataset %s:%d: line longer than %d bytes: %w", name, line, MaxRecordBytes, errTooLarge(MaxRecordBytes+1))
	} else if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return j.recs, nil
}

// loadJSON reads a JSON array of records, or JSON objects one after another.
func loadJSON(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	return parseJSON(path, data)
}

// parseJSON reads the records of the .json file data; path names it in errors.
func parseJSON(path string, data []byte) ([]Record, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:off], []byte{'\n'}) }
	if n, err := checkUTF8(data); err != nil {
		return nil, fmt.Errorf("dataset %s:%d: %w", path, 1+n, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		// Not an array but objects one after another: JSON lines under a .json name.
		return readJSONObjects(path, data, dec, lineAt)
	}
	tok, err := dec.Token()
	if err == nil && tok != json.Delim('[') {
		err = errors.New("the file is not a JSON array of records (nor JSON objects one after another)")
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s:%d: %w", path, lineAt(dec.InputOffset()), err)
	}
	var j jsonRecords
	for i := 0; dec.More(); i++ {
		line := lineAt(skipBlank(data, dec.InputOffset(), " \t\r\n,"))
		var elem json.RawMessage
		if err := dec.Decode(&elem); err != nil {
			return nil, fmt.Errorf("dataset %s:%d: record %d: bad JSON: %w", path, line, i, err)
		}
		if len(elem) > MaxRecordBytes {
			return nil, fmt.Errorf("dataset %s:%d: record %d: %w", path, line, i, errTooLarge(len(elem)))
		}
		if err := j.add(elem); err != nil {
			return nil, fmt.Errorf("dataset %s:%d: record %d: %w", path, line, i, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("dataset %s:%d: bad JSON: %w", path, lineAt(dec.InputOffset()), err)
	}
	return j.recs, nil
}

// readJSONObjects reads records written as JSON objects one after another (one per line or
// pretty-printed), as many .json files holding JSON lines are.
func readJSONObjects(path string, data []byte, dec *json.Decoder, lineAt func(int64) int) ([]Record, error) {
	var j jsonRecords
	for i := 0; ; i++ {
		line := lineAt(skipBlank(data, dec.InputOffset(), " \t\r\n"))
		var elem json.RawMessage
		err := dec.Decode(&elem)
		if errors.Is(err, io.EOF) {
			return j.recs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dataset %s:%d: record %d: bad JSON: %w", path, line, i, err)
		}
		if len(elem) > MaxRecordBytes {
			return nil, fmt.Errorf("dataset %s:%d: record %d: %w", path, line, i, errTooLarge(len(elem)))
		}
		if err := j.add(elem); err != nil {
			return nil, fmt.Errorf("dataset %s:%d: record %d: %w", path, line, i, err)
		}
	}
}

// skipBlank returns the offset of the first byte at or after off that is not in cutset. A JSON
// decoder's offset lies before the blanks (and commas) that precede the next value.
func skipBlank(data []byte, off int64, cutset string) int64 {
	return off + int64(len(data[off:])-len(bytes.TrimLeft(data[off:], cutset)))
}
