package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sftlab/sftlab/safetensors"
)

// Example writes a file with a float32 and a bfloat16 tensor and reads both back as float32.
func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	err = safetensors.Write(path, []safetensors.Tensor{
		safetensors.NewF32("model.norm.weight", []int{3}, []float32{1, 0.5, 0.25}),
		safetensors.NewBF16("lm_head.weight", []int{2, 2}, []float32{0.1, 0.2, 0.3, 0.4}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		values, shape, err := f.Float32(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, info.DType, shape, values)
	}
	// Output:
	// lm_head.weight BF16 [2 2] [0.100097656 0.20019531 0.30078125 0.40039062]
	// model.norm.weight F32 [3] [1 0.5 0.25]
}
