package datasets

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Split divides recs into a train and a valid set, deterministically for a given seed.
//
// The split is stratified by Task: within each task, round(validFraction × n) records go to
// valid, chosen by a seeded Fisher–Yates shuffle (PCG generator, so the split is the same on every
// platform and Go version), except that a task with at least two records always keeps at least
// one record in each set when 0 < validFraction < 1. Both sets keep the records' original order.
// validFraction ≤ 0 gives an empty valid set; validFraction ≥ 1 puts everything in valid.
func Split(recs []Record, validFraction float64, seed uint64) (train, valid []Record) {
	byTask := map[string][]int{}
	var tasks []string
	for i, r := range recs {
		if _, ok := byTask[r.Task]; !ok {
			tasks = append(tasks, r.Task)
		}
		byTask[r.Task] = append(byTask[r.Task], i)
	}
	slices.Sort(tasks)
	rng := rand.New(rand.NewPCG(seed, 0x5f7_1ab))
	inValid := make([]bool, len(recs))
	for _, task := range tasks {
		idx := byTask[task]
		n := len(idx)
		k := int(math.Round(validFraction * float64(n)))
		if validFraction > 0 && validFraction < 1 && n >= 2 {
			k = min(max(k, 1), n-1)
		}
		k = min(max(k, 0), n)
		// Fisher–Yates with our own bounded draw: rand.Shuffle's algorithm is not promised stable.
		for i := n - 1; i > 0; i-- {
			j := int(rng.Uint64() % uint64(i+1))
			idx[i], idx[j] = idx[j], idx[i]
		}
		for _, i := range idx[:k] {
			inValid[i] = true
		}
	}
	for i, r := range recs {
		if inValid[i] {
			valid = append(valid, r)
		} else {
			train = append(train, r)
		}
	}
	return train, valid
}
