package tokenizer

import (
	"container/heap"
	"math"
)

// noMerge is the rank of a pair that has no merge.
const noMerge = math.MaxUint32

// mergeTable maps a pair of adjacent token ids to the rank of its merge and the merged id. It is
// an open-addressing hash table with linear probing, kept at most half full, whose entries hold
// key and value side by side so that a lookup usually touches one cache line.
type mergeTable struct {
	slots []mergeSlot
	shift uint // 64 - log2(len(slots))
	count int  // used slots
}

type mergeSlot struct {
	key   uint64 // pairKey, or emptyKey
	value uint64 // rank<<32 | merged id
}

// emptyKey marks a free slot; ids are below 2^31, so no pair has this key.
const emptyKey = ^uint64(0)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newMergeTable returns an empty table sized for n merges.
func newMergeTable(n int) mergeTable {
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	slots := make([]mergeSlot, 1<<bits)
	for i := range slots {
		slots[i].key = emptyKey
	}
	return mergeTable{slots: slots, shift: 64 - bits}
}

func (m *mergeTable) home(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> m.shift }

// add records the merge of (a, b) into merged with the given rank, unless the pair already has a
// merge (the first, lowest rank wins, as in Hugging Face).
func (m *mergeTable) add(a, b int32, rank uint32, merged int32) {
	if 2*(m.count+1) > len(m.slots) {
		m.grow()
	}
	key, mask := pairKey(a, b), uint64(len(m.slots)-1)
	for i := m.home(key); ; i = (i + 1) & mask {
		switch m.slots[i].key {
		case key:
			return
		case emptyKey:
			m.slots[i] = mergeSlot{key: key, value: uint64(rank)<<32 | uint64(uint32(merged))}
			m.count++
			return
		}
	}
}

// grow doubles the table.
func (m *mergeTable) grow() {
	old := m.slots
	*m = newMergeTable(len(old))
	for _, s := range old {
		if s.key != emptyKey {
			m.add(int32(s.key>>32), int32(uint32(s.key)), uint32(s.value>>32), int32(uint32(s.value)))
		}
	}
}

// lookup returns the rank and merged id of the pair (a, b), or noMerge.
func (m *mergeTable) lookup(a, b int32) (rank uint32, merged int32) {
	key, mask := pairKey(a, b), uint64(len(m.slots)-1)
	for i := m.home(key); ; i = (i + 1) & mask {
		switch s := m.slots[i]; s.key {
		case key:
			return uint32(s.value >> 32), int32(uint32(s.value))
		case emptyKey:
			return noMerge, -1
		}
	}
}

// smallWord is the longest word (in bytes) merged by the quadratic loop; longer words use a heap.
const smallWord = 128

// mergeWord applies the merges to ids (one id per byte of a pre-token) in rank order, leftmost
// first among equal ranks, as Hugging Face's BPE does, and returns the merged ids (reusing ids).
func (m *mergeTable) mergeWord(ids []int32, ranks []uint32, merged []int32) []int32 {
	if len(ids) > smallWord {
		return m.mergeLong(ids)
	}
	n := len(ids)
	ranks, merged = ranks[:n-1], merged[:n-1]
	for i := range n - 1 {
		ranks[i], merged[i] = m.lookup(ids[i], ids[i+1])
	}
	for n > 1 {
		best, bestRank := -1, uint32(noMerge)
		for i, r := range ranks[:n-1] {
			if r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		ids[best] = merged[best]
		copy(ids[best+1:n-1], ids[best+2:n])
		copy(ranks[best:n-2], ranks[best+1:n-1])
		copy(merged[best:n-2], merged[best+1:n-1])
		n--
		if best > 0 {
			ranks[best-1], merged[best-1] = m.lookup(ids[best-1], ids[best])
		}
		if best < n-1 {
			ranks[best], merged[best] = m.lookup(ids[best], ids[best+1])
		}
	}
	return ids[:n]
}

// mergeLong is mergeWord for long words: a linked list of symbols and a heap of candidate
// merges ordered by (rank, position), in O(n log n).
func (m *mergeTable) mergeLong(ids []int32) []int32 {
	n := len(ids)
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := range n {
		prev[i], next[i] = int32(i-1), int32(i+1)
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	for i := range n - 1 {
		if r, id := m.lookup(ids[i], ids[i+1]); r != noMerge {
			h = append(h, candidate{rank: r, pos: int32(i), merged: id})
		}
	}
	heap.Init(&h)
	gone := make([]bool, n)
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		p := c.pos
		if gone[p] || next[p] < 0 {
			continue
		}
		q := next[p]
		// The pair may have changed since c was pushed; then c is stale.
		if r, id := m.lookup(ids[p], ids[q]); r != c.rank || id != c.merged {
			continue
		}
		ids[p] = c.merged
		gone[q] = true
		next[p] = next[q]
		if next[q] >= 0 {
			prev[next[q]] = p
		}
		if pp := prev[p]; pp >= 0 {
			if r, id := m.lookup(ids[pp], ids[p]); r != noMerge {
				heap.Push(&h, candidate{rank: r, pos: pp, merged: id})
			}
		}
		if nn := next[p]; nn >= 0 {
			if r, id := m.lookup(ids[p], ids[nn]); r != noMerge {
				heap.Push(&h, candidate{rank: r, pos: p, merged: id})
			}
		}
	}
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

// candidate is a possible merge of the symbol at pos with the one after it.
type candidate struct {
	rank   uint32
	pos    int32
	merged int32
}

// mergeHeap orders candidates by rank, then by position.
type mergeHeap []candidate

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
