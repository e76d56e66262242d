package train_test

import (
	"testing"

	"github.com/sftlab/sftlab/train"
)

func TestLinearSchedule(t *testing.T) {
	tests := []struct {
		name                   string
		warmup, maxSteps, step int
		want                   float64
	}{
		{"step 0 is lr 0", 4, 10, 0, 0},
		{"warmup", 4, 10, 1, 0.25},
		{"warmup 3/4", 4, 10, 3, 0.75},
		{"peak", 4, 10, 4, 1},
		{"decay", 4, 10, 7, 0.5},
		{"last step", 4, 10, 9, 1.0 / 6},
		{"at max", 4, 10, 10, 0},
		{"past max clamps at 0", 4, 10, 12, 0},
		{"no warmup starts at peak", 0, 10, 0, 1},
		{"no warmup decays", 0, 10, 5, 0.5},
		{"warmup = max", 10, 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := train.LinearSchedule(2e-3, tt.warmup, tt.maxSteps, tt.step); got != 2e-3*tt.want {
				t.Errorf("LinearSchedule(2e-3, %d, %d, %d) = %v, want %v", tt.warmup, tt.maxSteps, tt.step, got, 2e-3*tt.want)
			}
		})
	}
}
