package tokenizer

// byteLevelAlphabet returns GPT-2's byte-level mapping: the printable rune that stands for each
// byte in vocabulary and merge strings. Printable Latin-1 bytes stand for themselves; the others
// map, in byte order, to U+0100 and up.
func byteLevelAlphabet() [256]rune {
	var m [256]rune
	n := rune(0)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = 256 + n
			n++
		}
	}
	return m
}

// byteLevelDecoder inverts byteLevelAlphabet: index by rune, -1 where the rune stands for no byte.
type byteLevelDecoder [324]int16

func newByteLevelDecoder() *byteLevelDecoder {
	var d byteLevelDecoder
	for i := range d {
		d[i] = -1
	}
	for b, r := range byteLevelAlphabet() {
		d[r] = int16(b)
	}
	return &d
}
