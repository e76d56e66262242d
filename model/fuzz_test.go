package model

import (
	"encoding/json"
	"testing"
)

// FuzzCompactVocab feeds mutated vocab.json files (a run's compact vocabulary) to the decoder:
// it must return a vocabulary or an error, never panic, and a vocabulary it accepts must map
// its ids both ways within its sizes.
func FuzzCompactVocab(f *testing.F) {
	v, err := NewCompactVocab(100, []int{99}, []int32{5, 7, 7, 42})
	if err != nil {
		f.Fatal(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"full_vocab_size": 9223372036854775807, "ids": [0, 1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v CompactVocab
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		for dense := range int32(v.Size()) {
			full, err := v.ToFull([]int32{dense})
			if err != nil {
				t.Fatalf("ToFull(%d) of a vocabulary of %d: %v", dense, v.Size(), err)
			}
			back, err := v.ToDense(full)
			if err != nil || back[0] != dense {
				t.Fatalf("ToDense(ToFull(%d)) = %v, %v", dense, back, err)
			}
		}
		v.ToDense([]int32{-1, 0, 1 << 30})
		v.ToFull([]int32{-1, int32(v.Size())})
	})
}
