package chattemplate

import (
	"regexp"
	"strings"
)

// lstripBlocks applies Jinja's lstrip_blocks to a template's source: the spaces and tabs between
// the start of a line and a block or comment tag ({% or {#, unless written {%+ or {#+) are
// removed. Hand-written because gonja's own LeftStripBlocks also strips blanks before a tag in
// the middle of a line ("{{ x }} {% endif %}" loses its space), which Jinja does not.
//
// Only template text is touched: the inside of tags, with their string literals, and the body
// of {% raw %} blocks are copied as they are.
func lstripBlocks(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	lineStart := true // the text written since the last newline is only spaces and tabs
	blank := 0        // how many of those trailing spaces and tabs b holds
	i := 0
	for i < len(src) {
		c := src[i]
		if c == '{' && i+1 < len(src) && (src[i+1] == '%' || src[i+1] == '#' || src[i+1] == '{') {
			open := src[i+1]
			if open != '{' && lineStart && blank > 0 && !(i+2 < len(src) && src[i+2] == '+') {
				s := b.String()[:b.Len()-blank]
				b.Reset()
				b.WriteString(s)
			}
			end := tagEnd(src, i)
			tag := src[i:end]
			b.WriteString(tag)
			i = end
			lineStart, blank = false, 0
			if open == '%' && rawOpen.MatchString(tag) {
				// Copy a raw block's body up to its {% endraw %} untouched.
				if loc := rawClose.FindStringIndex(src[i:]); loc != nil {
					b.WriteString(src[i : i+loc[0]])
					i += loc[0]
				}
			}
			continue
		}
		b.WriteByte(c)
		i++
		switch {
		case c == '\n':
			lineStart, blank = true, 0
		case (c == ' ' || c == '\t') && lineStart:
			blank++
		default:
			lineStart, blank = false, 0
		}
	}
	return b.String()
}

var (
	rawOpen  = regexp.MustCompile(`^\{%[-+]?\s*raw\s*[-+]?%\}$`)
	rawClose = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)
)

// tagEnd returns the index just past the tag that opens at src[i] ("{{", "{%" or "{#"): past its
// closing "}}", "%}" or "#}", skipping string literals inside {{ }} and {% %}; len(src) when it
// is not closed (the parser then reports the error).
func tagEnd(src string, i int) int {
	closer := map[byte]string{'{': "}}", '%': "%}", '#': "#}"}[src[i+1]]
	j := i + 2
	if src[i+1] == '#' {
		if k := strings.Index(src[j:], closer); k >= 0 {
			return j + k + len(closer)
		}
		return len(src)
	}
	for j < len(src) {
		switch c := src[j]; {
		case c == '\'' || c == '"':
			j++
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j++
		case strings.HasPrefix(src[j:], closer):
			return j + len(closer)
		default:
			j++
		}
	}
	return len(src)
}
