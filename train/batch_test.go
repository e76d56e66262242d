package train

import (
	"math"
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
			b, err := makeBatch(exs, tt.padding, tt.maxLength, 8, false)
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
	if _, err := makeBatch(exs, PadLongest, 0, 2, false); err == nil || !strings.Contains(err.Error(), "exceeds the model context 2") {
		t.Errorf("context overflow: error %v", err)
	}
	if _, err := makeBatch([]Example{{IDs: []int32{1}, Labels: nil}}, PadLongest, 0, 2, false); err == nil {
		t.Error("labels shorter than ids: want an error")
	}
}

// TestMakeBatchAnswers checks the eval batch with answer labels: rows cover the positions of
// both label sets, each weighted in its own vector, and a training batch ignores answer labels.
func TestMakeBatchAnswers(t *testing.T) {
	const ig = IgnoreLabel
	exs := []Example{
		// Prompt 5 6 scored by Labels only, answer 7 by both, eos 8 by AnswerLabels only (pad masking).
		{IDs: []int32{5, 6, 7, 8}, Labels: []int32{5, 6, 7, ig}, AnswerLabels: []int32{ig, ig, 7, 8}},
		{IDs: []int32{9, 10}, Labels: []int32{ig, 10}, AnswerLabels: []int32{ig, 10}},
	}
	b, err := makeBatch(exs, PadLongest, 0, 8, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 4 // scored rows before filler
	if want := []int32{0, 1, 2, 4}; !slices.Equal(b.rows[:n], want) {
		t.Errorf("rows %v, want %v", b.rows[:n], want)
	}
	if want := []int32{6, 7, 8, 10}; !slices.Equal(b.targets[:n], want) {
		t.Errorf("targets %v, want %v", b.targets[:n], want)
	}
	if want := []float32{1, 1, 0, 1}; !slices.Equal(b.weights[:n], want) {
		t.Errorf("weights %v, want %v", b.weights[:n], want)
	}
	if want := []float32{0, 1, 1, 1}; !slices.Equal(b.answerWeights[:n], want) {
		t.Errorf("answer weights %v, want %v", b.answerWeights[:n], want)
	}
	if b.labelled != 3 || b.answered != 3 || len(b.answerWeights) != len(b.rows) {
		t.Errorf("labelled %d, answered %d, %d answer weights for %d rows; want 3, 3, equal", b.labelled, b.answered, len(b.answerWeights), len(b.rows))
	}
	for i := n; i < len(b.rows); i++ {
		if b.weights[i] != 0 || b.answerWeights[i] != 0 {
			t.Fatalf("filler row %d has weights %v, %v", i, b.weights[i], b.answerWeights[i])
		}
	}
	tb, err := makeBatch(exs, PadLongest, 0, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	if tb.labelled != 3 || tb.answered != 0 || tb.answerWeights != nil || !slices.Equal(tb.rows[:3], []int32{0, 1, 4}) {
		t.Errorf("training batch: labelled %d, answered %d, rows %v; want answer labels ignored", tb.labelled, tb.answered, tb.rows[:3])
	}
	bad := []Example{{IDs: []int32{5, 6}, Labels: []int32{5, 6}, AnswerLabels: []int32{ig, 7}}}
	if _, err := makeBatch(bad, PadLongest, 0, 8, true); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("disagreeing labels: error %v, want one saying they differ", err)
	}
}

// TestAverageLoss checks both averages on hand-computed numbers: three eval batches of 8, 8
// and 3 examples (an uneven last batch) with unequal token counts.
func TestAverageLoss(t *testing.T) {
	batches := []BatchLoss{
		{Examples: 8, Sum: 40, Tokens: 20}, // mean 2
		{Examples: 8, Sum: 30, Tokens: 10}, // mean 3
		{Examples: 3, Sum: 12, Tokens: 3},  // mean 4
	}
	tests := []struct {
		name    string
		batches []BatchLoss
		average string
		want    float64
	}{
		// (40 + 30 + 12) / (20 + 10 + 3) = 82 / 33
		{"tokens", batches, AverageTokens, 82.0 / 33},
		{"default is tokens", batches, "", 82.0 / 33},
		// Hugging Face: (8·2 + 8·3 + 3·4) / (8 + 8 + 3) = 52 / 19
		{"batches", batches, AverageBatches, 52.0 / 19},
		// A batch without scored tokens is left out of both.
		{"batches, empty batch skipped", append(slices.Clone(batches), BatchLoss{Examples: 8}), AverageBatches, 52.0 / 19},
		{"one batch: the two agree", batches[1:2], AverageBatches, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AverageLoss(tt.batches, tt.average); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("AverageLoss = %.15g, want %.15g", got, tt.want)
			}
		})
	}
	if got := AverageLoss([]BatchLoss{{Examples: 2}}, AverageBatches); !math.IsNaN(got) {
		t.Errorf("no scored token: %v, want NaN", got)
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
	bt, err := packBatch([]Example{a, b, c}, PadLongest, 6, 8, false)
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
	plain, err := makeBatch([]Example{a, b, c}, PadLongest, 6, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	gotT, wantT := slices.Sorted(slices.Values(bt.targets[:bt.labelled])), slices.Sorted(slices.Values(plain.targets[:plain.labelled]))
	if !slices.Equal(gotT, wantT) {
		t.Errorf("packed targets %v, unpacked %v: want the same multiset", gotT, wantT)
	}
	if full, err := packBatch([]Example{a, b, c}, PadMaxLength, 7, 8, false); err != nil || full.length != 7 || full.size != 2 {
		t.Errorf("max_length padding: %v, %+v; want 2 rows of 7", err, full)
	}
	if _, err := packBatch([]Example{c}, PadLongest, 3, 8, false); err == nil || !strings.Contains(err.Error(), "length of a packed row") {
		t.Errorf("example longer than a row: error %v", err)
	}
}
