package tokenizer

import (
	"slices"
	"strings"
)

// addedMatcher finds added tokens in text, leftmost first and longest among those starting at
// the same byte, as Hugging Face's added vocabulary does.
type addedMatcher struct {
	first  [256]bool             // whether some token starts with this byte
	tokens map[byte][]addedToken // by first byte, longest first
}

type addedToken struct {
	content string
	id      int
}

func newAddedMatcher(toks []addedToken) addedMatcher {
	m := addedMatcher{tokens: map[byte][]addedToken{}}
	for _, tok := range toks {
		if tok.content == "" {
			continue
		}
		c := tok.content[0]
		m.first[c] = true
		m.tokens[c] = append(m.tokens[c], tok)
	}
	for _, list := range m.tokens {
		slices.SortStableFunc(list, func(a, b addedToken) int { return len(b.content) - len(a.content) })
	}
	return m
}

// split calls fn for each piece of s in order: fn(piece, id) for an added token and fn(text, -1)
// for the (non-empty) text between them.
func (m *addedMatcher) split(s string, fn func(piece string, id int)) {
	if len(m.tokens) == 0 {
		if s != "" {
			fn(s, -1)
		}
		return
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		for _, tok := range m.tokens[s[i]] {
			if strings.HasPrefix(s[i:], tok.content) {
				if i > start {
					fn(s[start:i], -1)
				}
				fn(tok.content, tok.id)
				start = i + len(tok.content)
				i = start - 1
				break
			}
		}
	}
	if start < len(s) {
		fn(s[start:], -1)
	}
}
