package backend_test

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/sftlab/sftlab/backend"
)

// Create the default backend, record its description and run a graph on it.
func Example() {
	be, err := backend.New(backend.Config{Name: backend.CPU})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer be.Finalize()
	fmt.Println(strings.HasPrefix(backend.Describe(be), "cpu: Go Portable Compute Backend (parallelism=-1)"))

	exec := graph.MustNewExec(be, func(a, b *graph.Node) *graph.Node {
		return graph.DotGeneral(a, []int{0}, nil, b, []int{0}, nil) // aᵀ·b
	})
	defer exec.Finalize()
	out := exec.MustExec1(tensors.FromValue([][]float32{{1, 2}, {3, 4}}), tensors.FromValue([][]float32{{1, 0}, {0, 1}}))
	fmt.Println(out.Value())
	// Output:
	// true
	// [[1 3] [2 4]]
}
