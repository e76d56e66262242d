package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sftlab/sftlab/internal/claim"
	"github.com/sftlab/sftlab/metrics"
)

func TestParseHeldPolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    HeldPolicy
		wantErr bool
	}{{"", HeldWait, false}, {"wait", HeldWait, false}, {"skip", HeldSkip, false}, {"later", "", true}}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHeldPolicy(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseHeldPolicy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// A run whose claim is held elsewhere is put off: with HeldSkip it is left (and not counted as
// failed); with HeldWait it is trained once the claim is released.
func TestHeldRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	tests := []struct {
		name    string
		policy  HeldPolicy
		release time.Duration // when the holder lets go; 0: never during the sweep
	}{
		{"skip", HeldSkip, 0},
		{"wait", HeldWait, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := smoke(t, t.TempDir(), "sweep.grid={data.format: [sft, instruction]}", "train.max_steps=2", "eval.samples=0")
			held := exp.Runs[0]
			lock, err := claim.TryAcquire(ClaimFile(exp, held), claim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.release > 0 {
				go func() {
					time.Sleep(tt.release)
					lock.Release()
				}()
			} else {
				defer lock.Release()
			}
			sum, err := New(Options{Held: tt.policy}).Run(context.Background(), exp)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Outcomes) != 2 || sum.Outcomes[0].Run.ID != held.ID {
				t.Fatalf("outcomes %+v, want both runs in sweep order", sum.Outcomes)
			}
			o := sum.Outcomes[0]
			if o.HeldBy != lock.Owner().String() {
				t.Errorf("HeldBy = %q, want %q", o.HeldBy, lock.Owner())
			}
			switch tt.policy {
			case HeldSkip:
				if !o.Left || sum.Failed() != 0 {
					t.Errorf("held run: Left %v, Failed() %d; want left and nothing failed", o.Left, sum.Failed())
				}
				if _, err := metrics.ReadRunInfo(filepath.Join(o.Dir, metrics.RunInfoFile)); err == nil {
					t.Error("the left run was trained")
				}
				if !strings.Contains(sum.Table(), "left to "+o.HeldBy) {
					t.Errorf("table does not say the run was left:\n%s", sum.Table())
				}
			case HeldWait:
				if o.Left || o.Info.Status != metrics.StatusOK || o.Skipped {
					t.Errorf("held run after the wait: %+v, want trained here", o.Info)
				}
			}
			if o := sum.Outcomes[1]; o.HeldBy != "" || o.Info.Status != metrics.StatusOK {
				t.Errorf("free run: held by %q, status %s; want trained at once", o.HeldBy, o.Info.Status)
			}
		})
	}
}
