package configs

import (
	"strings"
	"testing"
)

// TestLoRAKeys loads model.lora settings: a sweep over the rank, the errors of bad values, and
// run IDs that ignore the LoRA keys only while LoRA is off.
func TestLoRAKeys(t *testing.T) {
	inTempRepo(t, map[string]string{
		"off.yaml":        "data:\n  format: sft\n",
		"off_alpha.yaml":  "data:\n  format: sft\nmodel:\n  lora:\n    alpha: 64\n    targets: [q_proj]\n",
		"on.yaml":         "data:\n  format: sft\nmodel:\n  pretrained: /m\n  lora:\n    rank: 8\n",
		"on_alpha.yaml":   "data:\n  format: sft\nmodel:\n  pretrained: /m\n  lora:\n    rank: 8\n    alpha: 32\n",
		"on_targets.yaml": "data:\n  format: sft\nmodel:\n  pretrained: /m\n  lora:\n    rank: 8\n    targets: [q_proj, v_proj]\n",
		"sweep.yaml": "model:\n  pretrained: /m\n  lora:\n    targets: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]\n" +
			"sweep:\n  grid:\n    model.lora.rank: [4, 16]\n    data.format: [sft, instruction]\n",
		"bad.yaml":    "model:\n  lora:\n    rank: 4\n    alpha: 0\n    dropout: 1.5\n    targets: [q_proj, qproj, q_proj]\n",
		"packed.yaml": "model:\n  pretrained: /models/x\n  lora:\n    rank: 4\n    dropout: 0.1\ndata:\n  packing: true\n",
	})
	id := func(file string) string {
		t.Helper()
		exp, err := Load(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		return exp.Runs[0].ID
	}
	if id("off.yaml") != id("off_alpha.yaml") {
		t.Error("with rank 0, other LoRA keys changed the run ID")
	}
	on := id("on.yaml")
	if on == id("off.yaml") || on == id("on_alpha.yaml") || on == id("on_targets.yaml") {
		t.Error("with rank > 0, the LoRA keys must change the run ID")
	}

	exp, err := Load("sweep.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range exp.Runs {
		names = append(names, r.Name)
		if got := len(r.Config.Model.LoRA.Targets); got != 7 {
			t.Errorf("%s: %d targets, want 7", r.Name, got)
		}
	}
	if got, want := strings.Join(names, " "), "format=sft,rank=4 format=sft,rank=16 format=instruction,rank=4 format=instruction,rank=16"; got != want {
		t.Errorf("run names %q, want %q", got, want)
	}

	_, err = Load("bad.yaml", nil)
	if err == nil {
		t.Fatal("bad LoRA values loaded")
	}
	for _, want := range []string{
		"model.lora.rank: is 4 but model.pretrained is empty",
		"model.lora.alpha: must be a finite number > 0, got 0",
		"model.lora.dropout: must be in [0, 1), got 1.5",
		`model.lora.targets: "qproj" is not a projection: want some of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (did you mean q_proj?)`,
		`model.lora.targets: "q_proj" is listed twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Load("packed.yaml", nil); err == nil || !strings.Contains(err.Error(), "model.lora.dropout: is 0.1 with data.packing") {
		t.Errorf("LoRA dropout with packing: %v, want it refused", err)
	}
}
