package tokenizer

// Token ids are int in this package, as in Hugging Face's API, and int32 in the tensors of
// datasets, model and train. These two functions are the one place where they are converted.

// IDs32 converts token ids to the int32 ids of tensors. Ids are below VocabSize, so they fit.
func IDs32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// IDs converts int32 tensor ids back to token ids, e.g. for Decode.
func IDs(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
