package train

import (
	"slices"
	"strings"
	"testing"
)

func TestMakeBatch(t *testing.T) {
	exs := []Example{
		{IDs: []int32{5, 6, 7}, Labels: []int32{5, 6, 7}},
		{IDs: []int32{8, 9}, Labels: []int32{IgnoreLabel, 9}},
	}
	tests := []struct {
		name      string
		padding   string
		maxLength int
		length    int
		rows      []int32 // labelled rows only
		targets   []int32
		wantErr   string
	}{
		{name: "longest", padding: PadLongest, length: 3, rows: []int32{0, 1, 3}, targets: []int32{6, 7, 9}},
		{name: "max_length", padding: PadMaxLength, maxLength: 5, length: 5, rows: []int32{0, 1, 5}, targets: []int32{6, 7, 9}},
		{name: "too long for max_length", padding: PadMaxLength, maxLength: 2, wantErr: "longer than max_length 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := makeBatch(exs, tt.padding, tt.maxLength, 8)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.length != tt.length || b.size != 2 || b.tokens != 5 || b.labelled != len(tt.rows) {
				t.Fatalf("length %d size %d tokens %d labelled %d", b.length, b.size, b.tokens, b.labelled)
			}
			if !slices.Equal(b.rows[:b.labelled], tt.rows) || !slices.Equal(b.targets[:b.labelled], tt.targets) {
				t.Errorf("rows %v targets %v, want %v %v", b.rows[:b.labelled], b.targets[:b.labelled], tt.rows, tt.targets)
			}
			if len(b.rows) != min(rowBucket, b.size*b.length) || len(b.weights) != len(b.rows) || len(b.targets) != len(b.rows) {
				t.Errorf("%d rows, %d weights, %d targets", len(b.rows), len(b.weights), len(b.targets))
			}
			for i, w := range b.weights {
				if want := float32(map[bool]int{true: 1}[i < b.labelled]); w != want {
					t.Errorf("weight %d = %v, want %v", i, w, want)
				}
			}
			wantMask := make([]int32, 2*tt.length)
			wantIDs := make([]int32, 2*tt.length)
			copy(wantIDs, []int32{5, 6, 7})
			copy(wantIDs[tt.length:], []int32{8, 9})
			for i := range 3 {
				wantMask[i] = 1
			}
			wantMask[tt.length], wantMask[tt.length+1] = 1, 1
			if !slices.Equal(b.mask, wantMask) || !slices.Equal(b.ids, wantIDs) {
				t.Errorf("ids %v mask %v, want %v %v", b.ids, b.mask, wantIDs, wantMask)
			}
		})
	}
	if _, err := makeBatch(exs, PadLongest, 0, 2); err == nil || !strings.Contains(err.Error(), "exceeds the model context 2") {
		t.Errorf("context overflow: error %v", err)
	}
	if _, err := makeBatch([]Example{{IDs: []int32{1}, Labels: nil}}, PadLongest, 0, 2); err == nil {
		t.Error("labels shorter than ids: want an error")
	}
}

func TestDataOrder(t *testing.T) {
	data := make([]Example, 7)
	for i := range data {
		data[i] = Example{IDs: []int32{int32(i)}}
	}
	walk := func(seed uint64) (ids []int32, positions []position) {
		var pos position
		var order []int
		for range 6 { // 2 epochs of 3 batches (3, 3, 1)
			var exs []Example
			exs, pos, order = nextBatch(data, seed, 3, pos, order)
			for _, e := range exs {
				ids = append(ids, e.IDs[0])
			}
			positions = append(positions, pos)
		}
		return ids, positions
	}
	a, posA := walk(1)
	b, _ := walk(1)
	c, _ := walk(2)
	if !slices.Equal(a, b) {
		t.Errorf("seed 1 twice: %v vs %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 give the same order %v", a)
	}
	wantPos := []position{{0, 3}, {0, 6}, {1, 0}, {1, 3}, {1, 6}, {2, 0}}
	if !slices.Equal(posA, wantPos) {
		t.Errorf("positions %v, want %v", posA, wantPos)
	}
	for epoch := range 2 {
		seen := slices.Clone(a[7*epoch : 7*epoch+7])
		slices.Sort(seen)
		if !slices.Equal(seen, []int32{0, 1, 2, 3, 4, 5, 6}) {
			t.Errorf("epoch %d visits %v, want each example once", epoch, a[7*epoch:7*epoch+7])
		}
	}
	if slices.Equal(a[:7], a[7:]) {
		t.Errorf("epochs 0 and 1 have the same order %v", a[:7])
	}
	// Resuming from a position (no cached order) gives the same batches.
	exs, _, _ := nextBatch(data, 1, 3, position{Epoch: 1, Next: 3}, nil)
	if got := []int32{exs[0].IDs[0], exs[1].IDs[0], exs[2].IDs[0]}; !slices.Equal(got, a[10:13]) {
		t.Errorf("batch from position {1 3}: %v, want %v", got, a[10:13])
	}
}

func TestPackBatch(t *testing.T) {
	ex := func(n int32, ids ...int32) Example {
		labels := slices.Clone(ids)
		labels[0] = IgnoreLabel
		return Example{IDs: ids, Labels: labels}
	}
	a := ex(0, 1, 2, 3)    // 3 tokens
	b := ex(0, 4, 5)       // 2
	c := ex(0, 6, 7, 8, 9) // 4
	// First fit decreasing into rows of 6: c, then a (no room beside c), then b beside c.
	bt, err := packBatch([]Example{a, b, c}, PadLongest, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	if bt.size != 2 || bt.length != 6 || bt.tokens != 9 {
		t.Fatalf("size %d length %d tokens %d, want 2 rows of 6 holding 9 tokens", bt.size, bt.length, bt.tokens)
	}
	wantIDs := []int32{6, 7, 8, 9, 4, 5, 1, 2, 3, 0, 0, 0}
	wantMask := []int32{1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 0}
	if !slices.Equal(bt.ids, wantIDs) || !slices.Equal(bt.mask, wantMask) {
		t.Errorf("ids %v mask %v, want %v %v", bt.ids, bt.mask, wantIDs, wantMask)
	}
	// Targets stay within each example: c's 7 8 9 from positions 0–2, b's 5 from 4, a's 2 3
	// from 6 and 7; nothing crosses from 9 (position 3) to 4.
	wantRows := []int32{0, 1, 2, 4, 6, 7}
	wantTargets := []int32{7, 8, 9, 5, 2, 3}
	if !slices.Equal(bt.rows[:bt.labelled], wantRows) || !slices.Equal(bt.targets[:bt.labelled], wantTargets) {
		t.Errorf("rows %v targets %v, want %v %v", bt.rows[:bt.labelled], bt.targets[:bt.labelled], wantRows, wantTargets)
	}
	plain, err := makeBatch([]Example{a, b, c}, PadLongest, 6, 8)
	if err != nil {
		t.Fatal(err)
	}
	gotT, wantT := slices.Sorted(slices.Values(bt.targets[:bt.labelled])), slices.Sorted(slices.Values(plain.targets[:plain.labelled]))
	if !slices.Equal(gotT, wantT) {
		t.Errorf("packed targets %v, unpacked %v: want the same multiset", gotT, wantT)
	}
	if full, err := packBatch([]Example{a, b, c}, PadMaxLength, 7, 8); err != nil || full.length != 7 || full.size != 2 {
		t.Errorf("max_length padding: %v, %+v; want 2 rows of 7", err, full)
	}
	if _, err := packBatch([]Example{c}, PadLongest, 3, 8); err == nil || !strings.Contains(err.Error(), "length of a packed row") {
		t.Errorf("example longer than a row: error %v", err)
	}
}
