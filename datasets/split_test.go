package datasets

import (
	"fmt"
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	recs, err := Load("builtin:teaching_zh")
	if err != nil {
		t.Fatal(err)
	}
	perTask := map[string]int{}
	for _, r := range recs {
		perTask[r.Task]++
	}
	tests := []struct {
		name      string
		fraction  float64
		seed      uint64
		wantValid int
	}{
		// 12 per task → round(1.2)=1, 10 per task → 1: 7 tasks give 7.
		{"ten percent", 0.1, 42, 7},
		// 12 → 2 (2.4), 10 → 2: 14.
		{"twenty percent", 0.2, 1, 14},
		{"none", 0, 42, 0},
		{"all", 1, 42, len(recs)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			train, valid := Split(recs, tt.fraction, tt.seed)
			if len(valid) != tt.wantValid || len(train)+len(valid) != len(recs) {
				t.Fatalf("Split = %d train, %d valid; want %d valid of %d", len(train), len(valid), tt.wantValid, len(recs))
			}
			seen := map[string]int{}
			for _, r := range append(append([]Record{}, train...), valid...) {
				seen[fmt.Sprint(r)]++
			}
			for _, r := range recs {
				if seen[fmt.Sprint(r)] != 1 {
					t.Fatalf("record %v appears %d times across train and valid", r, seen[fmt.Sprint(r)])
				}
			}
			if tt.fraction > 0 && tt.fraction < 1 {
				validTasks := map[string]int{}
				for _, r := range valid {
					validTasks[r.Task]++
				}
				for task := range perTask {
					if validTasks[task] == 0 {
						t.Errorf("task %s has no valid record: the split is not stratified", task)
					}
				}
			}
			train2, valid2 := Split(recs, tt.fraction, tt.seed)
			if !reflect.DeepEqual(train, train2) || !reflect.DeepEqual(valid, valid2) {
				t.Error("Split is not deterministic for a fixed seed")
			}
		})
	}
	_, a := Split(recs, 0.2, 1)
	_, b := Split(recs, 0.2, 2)
	if reflect.DeepEqual(a, b) {
		t.Error("seeds 1 and 2 give the same valid set")
	}
}

func TestSplitSmallTask(t *testing.T) {
	recs := []Record{{Task: "a", Output: "1"}, {Task: "a", Output: "2"}, {Task: "b", Output: "3"}}
	train, valid := Split(recs, 0.1, 7)
	// Task a (2 records) keeps one on each side; task b (1 record) rounds to 0 valid.
	if len(train) != 2 || len(valid) != 1 || valid[0].Task != "a" {
		t.Errorf("Split = train %v, valid %v", train, valid)
	}
}
