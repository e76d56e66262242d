// Package safetensors reads and writes Hugging Face safetensors weight files.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape and byte offsets into the data section), then the data section. [Open]
// memory-maps a file and validates every entry against the file size before any tensor is read;
// [OpenDir] opens a model directory holding either model.safetensors or a sharded set described by
// model.safetensors.index.json. [Write] writes a file atomically in the layout Hugging Face writes:
// keys sorted, header padded with spaces to a multiple of 8 bytes.
package safetensors
