package tokenizer

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The vocabulary and merges make up almost all of tokenizer.json's 11 MB. They are read by this
// small scanner straight into a byte arena and integer tables, without allocating a string per
// entry, which keeps loading fast and light on the garbage collector.

// jsonScanner reads JSON values from a byte slice.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		return s.errorf("want %q", c)
	}
	s.pos++
	return nil
}

// more reports whether a list continues: it consumes a ',' (true) or the closing byte (false).
func (s *jsonScanner) more(closing byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.pos++
		return true, nil
	case closing:
		s.pos++
		return false, nil
	}
	return false, s.errorf("want ',' or %q", closing)
}

// str appends the unescaped bytes of the next JSON string to dst.
func (s *jsonScanner) str(dst []byte) ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return dst, err
	}
	for {
		start := s.pos
		for s.pos < len(s.data) && s.data[s.pos] != '"' && s.data[s.pos] != '\\' {
			s.pos++
		}
		dst = append(dst, s.data[start:s.pos]...)
		if s.pos >= len(s.data) {
			return dst, s.errorf("unterminated string")
		}
		if s.data[s.pos] == '"' {
			s.pos++
			return dst, nil
		}
		s.pos++ // backslash
		if s.pos >= len(s.data) {
			return dst, s.errorf("unterminated string")
		}
		c := s.data[s.pos]
		s.pos++
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return dst, err
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					s.pos += 2
					if r2, err = s.hex4(); err != nil {
						return dst, err
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, s.errorf("invalid escape \\%c", c)
		}
	}
}

func (s *jsonScanner) hex4() (rune, error) {
	if s.pos+4 > len(s.data) {
		return 0, s.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(s.data[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, s.errorf("invalid \\u escape")
	}
	s.pos += 4
	return rune(v), nil
}

// integer reads a non-negative integer.
func (s *jsonScanner) integer() (int, error) {
	s.skipSpace()
	start, v := s.pos, 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		v = v*10 + int(s.data[s.pos]-'0')
		if v > 1<<31-1 {
			return 0, s.errorf("id too large")
		}
		s.pos++
	}
	if s.pos == start {
		return 0, s.errorf("want a non-negative integer")
	}
	return v, nil
}

// appendByteLevel decodes a byte-level symbol string (UTF-8 of the symbol runes) into the bytes
// it stands for, appended to dst.
func appendByteLevel(dst []byte, sym []byte, dec *byteLevelDecoder) ([]byte, bool) {
	for len(sym) > 0 {
		r, w := utf8.DecodeRune(sym)
		if r < 0 || int(r) >= len(dec) || dec[r] < 0 {
			return dst, false
		}
		dst = append(dst, byte(dec[r]))
		sym = sym[w:]
	}
	return dst, true
}

// appendSymbols appends the bytes a vocabulary or merge string stands for to dst: the bytes the
// byte-level symbols stand for when dec is not nil, else the string's own UTF-8 bytes.
func appendSymbols(dst []byte, sym []byte, dec *byteLevelDecoder) ([]byte, bool) {
	if dec == nil {
		return append(dst, sym...), true
	}
	return appendByteLevel(dst, sym, dec)
}

// rawVocab is model.vocab decoded to the bytes each token stands for.
type rawVocab struct {
	tokens []string         // id -> bytes ("" where no entry has the id)
	ids    map[string]int32 // bytes -> id
}

// parseVocab reads model.vocab, a JSON object from token strings to ids: byte-level symbol
// strings when byteLevel (decoded to the bytes they stand for), else the tokens' own text. Each id
// is below limit (the size of tokenizer.json: ids are an embedding's rows, numbered from 0, and
// a file cannot hold more entries than it has bytes), so that the id table it allocates stays
// proportional to the file. Two entries may not share an id.
func parseVocab(raw []byte, limit int, byteLevel bool) (rawVocab, error) {
	s := &jsonScanner{data: raw}
	if err := s.expect('{'); err != nil {
		return rawVocab{}, err
	}
	type entry struct{ start, end, id int32 }
	var (
		dec     *byteLevelDecoder
		arena   = make([]byte, 0, len(raw)/3)
		entries = make([]entry, 0, len(raw)/16)
		sym     []byte
		maxID   = -1
		err     error
	)
	if byteLevel {
		dec = newByteLevelDecoder()
	}
	if s.peek() == '}' {
		return rawVocab{}, errors.New("empty")
	}
	for more := true; more; {
		if sym, err = s.str(sym[:0]); err != nil {
			return rawVocab{}, err
		}
		start := len(arena)
		var ok bool
		if arena, ok = appendSymbols(arena, sym, dec); !ok {
			return rawVocab{}, fmt.Errorf("entry %q is not a byte-level symbol string (the ByteLevel pre-tokenizer needs a byte-level vocabulary)", sym)
		}
		if err := s.expect(':'); err != nil {
			return rawVocab{}, err
		}
		id, err := s.integer()
		if err != nil {
			return rawVocab{}, fmt.Errorf("entry %q: %w", sym, err)
		}
		if id >= limit {
			return rawVocab{}, fmt.Errorf("entry %q: id %d is beyond %d, the size of tokenizer.json in bytes, so the ids cannot be an embedding's rows counted from 0 (corrupt file?)", sym, id, limit)
		}
		maxID = max(maxID, id)
		entries = append(entries, entry{int32(start), int32(len(arena)), int32(id)})
		if more, err = s.more('}'); err != nil {
			return rawVocab{}, err
		}
	}
	all := string(arena)
	v := rawVocab{tokens: make([]string, maxID+1), ids: make(map[string]int32, len(entries))}
	used := make([]bool, maxID+1)
	for _, e := range entries {
		tok := all[e.start:e.end]
		if _, dup := v.ids[tok]; dup {
			return rawVocab{}, fmt.Errorf("duplicate entry for bytes %q", tok)
		}
		if used[e.id] {
			return rawVocab{}, fmt.Errorf("entries %q and %q share id %d", v.tokens[e.id], tok, e.id)
		}
		used[e.id] = true
		v.tokens[e.id] = tok
		v.ids[tok] = e.id
	}
	return v, nil
}

// parseMerges reads model.merges, written as ["a", "b"] pairs or as "a b" strings, and calls fn
// with the bytes of each side (decoded from byte-level symbols when byteLevel), in rank order.
func parseMerges(raw []byte, byteLevel bool, fn func(rank int, a, b []byte) error) error {
	s := &jsonScanner{data: raw}
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		return nil
	}
	var (
		dec       *byteLevelDecoder
		sym, a, b []byte
		err       error
		ok        bool
	)
	if byteLevel {
		dec = newByteLevelDecoder()
	}
	for rank, more := 0, true; more; rank++ {
		var symA, symB []byte
		if s.peek() == '[' {
			s.pos++
			if sym, err = s.str(sym[:0]); err != nil {
				return err
			}
			split := len(sym)
			if err := s.expect(','); err != nil {
				return err
			}
			if sym, err = s.str(sym); err != nil {
				return err
			}
			if err := s.expect(']'); err != nil {
				return err
			}
			symA, symB = sym[:split], sym[split:]
		} else {
			if sym, err = s.str(sym[:0]); err != nil {
				return err
			}
			sp := -1
			for i, c := range sym {
				if c == ' ' {
					if sp >= 0 {
						sp = -2
						break
					}
					sp = i
				}
			}
			if sp < 0 {
				return fmt.Errorf("merge %d %q is not two space-separated symbols", rank, sym)
			}
			symA, symB = sym[:sp], sym[sp+1:]
		}
		if a, ok = appendSymbols(a[:0], symA, dec); !ok {
			return fmt.Errorf("merge %d: %q is not a byte-level symbol string", rank, symA)
		}
		if b, ok = appendSymbols(b[:0], symB, dec); !ok {
			return fmt.Errorf("merge %d: %q is not a byte-level symbol string", rank, symB)
		}
		if err := fn(rank, a, b); err != nil {
			return err
		}
		if more, err = s.more(']'); err != nil {
			return err
		}
	}
	return nil
}
