package tokenizer

// Open returns the tokenizer of a data.tokenizer setting: the built-in Qwen3 tokenizer for "",
// else the tokenizer.json (with tokenizer_config.json) in the directory dir.
func Open(dir string) (*Tokenizer, error) {
	if dir == "" {
		return Qwen3()
	}
	return Load(dir)
}
