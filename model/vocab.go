package model

import (
	"encoding/json"
	"fmt"
	"slices"
)

// IgnoreLabel marks a label position that the loss skips (Hugging Face's -100).
const IgnoreLabel = -100

// CompactVocab maps the token ids that occur in an experiment's data, plus the special ids,
// onto the dense range [0, Size()). Dense id i is the i-th smallest full id, so the mapping
// depends only on the set of ids, never on the order the data was read in.
type CompactVocab struct {
	fullSize int
	ids      []int32         // dense → full, ascending
	dense    map[int32]int32 // full → dense
}

// NewCompactVocab builds the mapping for the ids of seqs plus special, all of which must lie
// in [0, fullSize). Negative values in seqs (label masks such as -100) are ignored.
func NewCompactVocab(fullSize int, special []int, seqs ...[]int32) (*CompactVocab, error) {
	set := make(map[int32]bool)
	for _, id := range special {
		if id < 0 || id >= fullSize {
			return nil, fmt.Errorf("compact vocab: special id %d outside the full vocabulary [0, %d)", id, fullSize)
		}
		set[int32(id)] = true
	}
	for i, seq := range seqs {
		for _, id := range seq {
			if id < 0 {
				continue
			}
			if int(id) >= fullSize {
				return nil, fmt.Errorf("compact vocab: sequence %d: id %d outside the full vocabulary [0, %d)", i, id, fullSize)
			}
			set[id] = true
		}
	}
	ids := make([]int32, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return newCompactVocab(fullSize, ids)
}

func newCompactVocab(fullSize int, ids []int32) (*CompactVocab, error) {
	v := &CompactVocab{fullSize: fullSize, ids: ids, dense: make(map[int32]int32, len(ids))}
	for i, id := range ids {
		if i > 0 && ids[i-1] >= id {
			return nil, fmt.Errorf("compact vocab: ids not strictly ascending at index %d (%d after %d)", i, id, ids[i-1])
		}
		if id < 0 || int(id) >= fullSize {
			return nil, fmt.Errorf("compact vocab: id %d outside the full vocabulary [0, %d)", id, fullSize)
		}
		v.dense[id] = int32(i)
	}
	return v, nil
}

// Size is the number of dense ids: the model's vocabulary size.
func (v *CompactVocab) Size() int { return len(v.ids) }

// FullSize is the size of the full vocabulary the ids come from.
func (v *CompactVocab) FullSize() int { return v.fullSize }

// ToDense maps full ids to dense ids; negative values (IgnoreLabel) pass through unchanged,
// so it maps label sequences too. An id missing from the vocabulary is an error.
func (v *CompactVocab) ToDense(ids []int32) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 {
			out[i] = id
			continue
		}
		d, ok := v.dense[id]
		if !ok {
			return nil, fmt.Errorf("compact vocab: position %d: token id %d does not occur in the vocabulary's data; build the vocabulary from every split", i, id)
		}
		out[i] = d
	}
	return out, nil
}

// ToFull maps dense ids back to full ids; negative values pass through unchanged.
func (v *CompactVocab) ToFull(ids []int32) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		switch {
		case id < 0:
			out[i] = id
		case int(id) < len(v.ids):
			out[i] = v.ids[id]
		default:
			return nil, fmt.Errorf("compact vocab: position %d: dense id %d outside [0, %d)", i, id, len(v.ids))
		}
	}
	return out, nil
}

type compactVocabJSON struct {
	FullSize int     `json:"full_vocab_size"`
	IDs      []int32 `json:"ids"`
}

// MarshalJSON writes {"full_vocab_size": N, "ids": [full id of dense 0, 1, …]}.
func (v *CompactVocab) MarshalJSON() ([]byte, error) {
	return json.Marshal(compactVocabJSON{FullSize: v.fullSize, IDs: v.ids})
}

// UnmarshalJSON reads what MarshalJSON writes and checks it.
func (v *CompactVocab) UnmarshalJSON(data []byte) error {
	var j compactVocabJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("compact vocab: %w", err)
	}
	nv, err := newCompactVocab(j.FullSize, j.IDs)
	if err != nil {
		return err
	}
	*v = *nv
	return nil
}
