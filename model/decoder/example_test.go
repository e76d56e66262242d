package decoder_test

import (
	"fmt"
	"log"
	"path/filepath"

	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model/decoder"
)

// Example loads a Hugging Face model directory and decodes greedily with the key/value cache.
func Example() {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		log.Fatal(err)
	}
	m, err := decoder.LoadDir(filepath.Join("testdata", "tiny_untied"))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	store := mlmodel.NewStore()
	if err := m.Init(store, 0); err != nil {
		log.Fatal(err)
	}
	gen := decoder.NewGenerator(be, store, m)
	next, err := gen.Generate([]int32{248, 140, 478, 358, 295, 55}, 5, -1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(next)
	// Output: [16 161 72 462 128]
}
