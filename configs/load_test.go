package configs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// base is a small base file used by the error cases.
const testBase = `# a base
model:
  preset: tiny
train:
  max_steps: 20
  learning_rate: 1.0e-3
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		sets  []string
		want  []string // the lines of the error, in order
	}{
		{
			name:  "unknown key with suggestion",
			files: map[string]string{"x.yaml": "extends: base.yaml\ntrain:\n  learing_rate: 1.0e-4\n"},
			want:  []string{"x.yaml:3: train.learing_rate: unknown key (did you mean train.learning_rate?)"},
		},
		{
			name:  "key in the wrong section",
			files: map[string]string{"x.yaml": "learning_rate: 1.0e-4\n"},
			want:  []string{"x.yaml:1: learning_rate: unknown key (did you mean train.learning_rate?)"},
		},
		{
			name:  "unknown section",
			files: map[string]string{"x.yaml": "trian:\n  max_steps: 3\n"},
			want:  []string{"x.yaml:1: trian: unknown key (did you mean train?)"},
		},
		{
			name:  "wrong types",
			files: map[string]string{"x.yaml": "train:\n  max_steps: thirty\n  learning_rate: \"5e-5\"\n  batch_size: 2.5\nmodel:\n  tie_embeddings: 1\n"},
			want: []string{
				`x.yaml:2: train.max_steps: wrong type: want an integer, got the string "thirty"`,
				`x.yaml:3: train.learning_rate: wrong type: want a number, got the string "5e-5"`,
				`x.yaml:4: train.batch_size: wrong type: want an integer, got the number 2.5`,
				`x.yaml:6: model.tie_embeddings: wrong type: want true or false, got the integer 1`,
			},
		},
		{
			name:  "section given a value",
			files: map[string]string{"x.yaml": "train: 5\n"},
			want:  []string{"x.yaml:1: train: wrong type: want a mapping of keys, got the integer 5"},
		},
		{
			name:  "out of range, all at once",
			files: map[string]string{"x.yaml": "train:\n  max_steps: 0\n  learning_rate: -1.0e-4\n  batch_size: 0\n"},
			want: []string{
				"x.yaml:2: train.max_steps: must be > 0, got 0",
				"x.yaml:3: train.learning_rate: must be a finite number > 0, got -0.0001",
				"x.yaml:4: train.batch_size: must be > 0, got 0",
			},
		},
		{
			name:  "warmup beyond max_steps",
			files: map[string]string{"x.yaml": "train:\n  max_steps: 5\n  warmup_steps: 6\n"},
			want:  []string{"x.yaml:3: train.warmup_steps: 6 exceeds train.max_steps 5"},
		},
		{
			name:  "enums and ranges",
			files: map[string]string{"x.yaml": "data:\n  format: instuction\n  valid_fraction: 1.0\nmodel:\n  preset: huge\n"},
			want: []string{
				`x.yaml:2: data.format: "instuction" is not one of sft, instruction, chat (did you mean instruction?)`,
				"x.yaml:3: data.valid_fraction: must be in [0, 1), got 1",
				`x.yaml:5: model.preset: "huge" is not one of small, t1, t2, tiny`,
			},
		},
		{
			name:  "default value in conflict is put on the experiment file",
			files: map[string]string{"x.yaml": "data:\n  valid_fraction: 0\n"},
			want:  []string{"x.yaml: data.eval_on: is valid but data.valid_fraction is 0: hold out some data or set eval_on: train"},
		},
		{
			name:  "malformed YAML",
			files: map[string]string{"x.yaml": "train:\n  max_steps: 3\n   batch_size: 2\n"},
			want:  []string{"x.yaml:3: malformed YAML: mapping values are not allowed in this context"},
		},
		{
			name:  "duplicate key",
			files: map[string]string{"x.yaml": "train:\n  max_steps: 3\n  max_steps: 4\n"},
			want:  []string{`x.yaml:3: malformed YAML: mapping key "max_steps" already defined at line 2`},
		},
		{
			name:  "YAML merge keys are checked like the keys they merge",
			files: map[string]string{"x.yaml": "common: &c\n  max_stpes: 3\ntrain:\n  <<: *c\n"},
			want: []string{
				"x.yaml:1: common: unknown key",
				"x.yaml:2: train.max_stpes: unknown key (did you mean train.max_steps?)",
			},
		},
		{
			name:  "malformed base",
			files: map[string]string{"x.yaml": "extends: base.yaml\n", "base.yaml": "train: [1,\n"},
			want:  []string{"base.yaml:1: malformed YAML: did not find expected node content"},
		},
		{
			name:  "not a mapping",
			files: map[string]string{"x.yaml": "- a\n- b\n"},
			want:  []string{"x.yaml:1: the file must be a mapping of keys to values (e.g. `train:` with `max_steps: 30` below it)"},
		},
		{
			name:  "null leaf",
			files: map[string]string{"x.yaml": "model:\n  pretrained:\n"},
			want:  []string{`x.yaml:2: model.pretrained: no value given (write "" for an empty string, or remove the key)`},
		},
		{
			name:  "error in a base names the base",
			files: map[string]string{"x.yaml": "extends: mid.yaml\n", "mid.yaml": "extends: base.yaml\neval:\n  every: -1\n"},
			want:  []string{"mid.yaml:3: eval.every: must be ≥ 0, got -1"},
		},
		{
			name:  "missing base",
			files: map[string]string{"sub/x.yaml": "extends: configs/nope.yaml\n"},
			want:  []string{"sub/x.yaml:1: extends: configs/nope.yaml not found (tried sub/configs/nope.yaml, configs/nope.yaml, builtin:configs/nope.yaml)"},
		},
		{
			name:  "cycle",
			files: map[string]string{"x.yaml": "extends: a.yaml\n", "a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"},
			want:  []string{"b.yaml: extends: extends cycle: x.yaml -> a.yaml -> b.yaml -> a.yaml"},
		},
		{
			name:  "set: unknown key, bad pair, wrong type",
			files: map[string]string{"x.yaml": "extends: base.yaml\n"},
			sets:  []string{"train.learing_rate=1e-4", "train.max_steps", "train.batch_size=two", "model.tie_embeddings=yes"},
			want: []string{
				`--set model.tie_embeddings: wrong type: want true or false, got the string "yes"`,
				`--set train.batch_size: wrong type: want an integer, got the string "two"`,
				"--set train.learing_rate: unknown key (did you mean train.learning_rate?)",
				"--set train.max_steps: want key=value, e.g. --set train.learning_rate=1e-4",
			},
		},
		{
			name:  "set: out of range",
			files: map[string]string{"x.yaml": "extends: base.yaml\n"},
			sets:  []string{"train.learning_rate=-1e-4"},
			want:  []string{"--set train.learning_rate: must be a finite number > 0, got -0.0001"},
		},
		{
			name: "sweep: bad value is located at its element, for the runs it breaks",
			files: map[string]string{"x.yaml": `extends: base.yaml
sweep:
  grid:
    data.format: [sft, instruction]
    train.learning_rate:
      - 1.0e-3
      - -1.0e-3
`},
			want: []string{"x.yaml:7: train.learning_rate: must be a finite number > 0, got -0.001 (runs format=sft,lr=-1e-3; format=instruction,lr=-1e-3)"},
		},
		{
			name:  "sweep: wrong type of a value",
			files: map[string]string{"x.yaml": "sweep:\n  seeds: [1, two]\n"},
			want:  []string{`x.yaml:2: sweep.seeds.1: wrong type: want an integer, got the string "two"`},
		},
		{
			name: "sweep: shape",
			files: map[string]string{"x.yaml": `sweep:
  grid:
    lr: [1.0e-3]
    data.format: []
    train.seed: [1, 2]
  zip:
    train.max_steps: [10, 20]
    train.warmup_steps: [1]
  seeds: [1, 2]
`},
			want: []string{
				"x.yaml:3: sweep.grid.lr: cannot be swept: not a config key (did you mean train.learning_rate?)",
				"x.yaml:4: sweep.grid.data.format: empty list: give at least one value",
				"x.yaml:8: sweep.zip.train.warmup_steps: has 1 values but sweep.zip.train.max_steps has 2: zipped lists advance together and must have the same length",
				"x.yaml:9: sweep.seeds: train.seed is also swept in sweep.grid: use one or the other",
			},
		},
		{
			name:  "sweep: runs with the same config",
			files: map[string]string{"x.yaml": "sweep:\n  grid:\n    output.dir: [a, b]\n"},
			want:  []string{"x.yaml:1: sweep: runs output.dir=a and output.dir=b resolve to the same config (id a293d4bd45d8): a swept value changes nothing that training computes, or appears twice"},
		},
		{
			name: "every kind of problem at once",
			files: map[string]string{"x.yaml": `extends: base.yaml
model:
  d_modle: 64
data:
  format: instructions
train:
  max_steps: 0
  learning_rate: "3e-3"
sweep:
  grid:
    lrate: [1]
`},
			sets: []string{"eval.batch_size=-1"},
			want: []string{
				"--set eval.batch_size: must be > 0, got -1",
				"x.yaml:3: model.d_modle: unknown key (did you mean model.d_model?)",
				`x.yaml:5: data.format: "instructions" is not one of sft, instruction, chat (did you mean instruction?)`,
				"x.yaml:7: train.max_steps: must be > 0, got 0",
				`x.yaml:8: train.learning_rate: wrong type: want a number, got the string "3e-3"`,
				"x.yaml:11: sweep.grid.lrate: cannot be swept: not a config key",
			},
		},
		{
			name:  "unknown metric in tolerances",
			files: map[string]string{"x.yaml": "regress:\n  tolerances:\n    eval_los: {abs: 0.1, rel: 0}\n    train_loss: {abs: -1, rel: 0}\n"},
			want: []string{
				"x.yaml:3: regress.tolerances.eval_los: unknown metric (did you mean eval_loss?) (metrics: eval_loss, eval_loss_train, answer_loss, answer_loss_train, train_loss, final_train_loss, token_accuracy, exact_match, rouge_l, chrf)",
				"x.yaml:4: regress.tolerances.train_loss.abs: must be a finite number ≥ 0, got -1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"base.yaml": testBase}
			for k, v := range tt.files {
				files[k] = v
			}
			inTempRepo(t, files)
			path := "x.yaml"
			if _, ok := tt.files["sub/x.yaml"]; ok {
				path = "sub/x.yaml"
			}
			exp, err := Load(path, tt.sets)
			if err == nil {
				t.Fatalf("Load succeeded with %d runs, want errors:\n%s", len(exp.Runs), strings.Join(tt.want, "\n"))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T %v is not an ErrorList", err, err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	inTempRepo(t, nil)
	_, err := Load("nope.yaml", nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
	}
}
