package configs_test

import (
	"fmt"

	"github.com/sftlab/sftlab/configs"
)

// Load resolves an experiment file, applies --set overrides and expands the sweep.
func ExampleLoad() {
	exp, err := configs.Load("tiny.yaml", []string{"sweep.grid.data.format=[sft, instruction]", "train.learning_rate=1e-3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exp.Name, exp.Files)
	for _, run := range exp.Runs {
		fmt.Println(run.Name, run.Config.Train.MaxSteps, run.Config.Train.LearningRate)
	}
	// Output:
	// tiny [tiny.yaml base.yaml]
	// format=sft 120 0.001
	// format=instruction 120 0.001
}

// Every problem is reported at once, each with its file (or flag), line and key path.
func ExampleLoad_errors() {
	_, err := configs.Load("tiny.yaml", []string{"train.learing_rate=1e-3", "train.batch_size=0"})
	fmt.Println(err)
	// Output:
	// --set train.batch_size: must be > 0, got 0
	// --set train.learing_rate: unknown key (did you mean train.learning_rate?)
}

// Run names use short aliases for the most swept keys.
func ExampleRunName() {
	fmt.Println(configs.RunName([]configs.Param{
		{Key: "data.format", Value: "sft"},
		{Key: "train.learning_rate", Value: 1e-4},
		{Key: "train.seed", Value: 1},
	}))
	// Output: format=sft,lr=1e-4,seed=1
}
