package metrics

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// GenerationsFile holds the scores of the greedy completions of held-out prompts.
const GenerationsFile = "generation.arrow"

// Generation is one row of generation.arrow: the greedy completions of a split's first
// prompts at one step, scored against the references (see package scores).
type Generation struct {
	Step       int64   // optimizer step after which the completions were generated
	Split      string  // the split whose prompts were completed: SplitValid, or SplitTrain when nothing is held out
	Prompts    int64   // completions scored
	ExactMatch float64 // share of completions equal to their reference, in [0, 1]
	RougeL     float64 // mean character-level ROUGE-L F1, in [0, 1]
	ChrF       float64 // corpus chrF2 (sacreBLEU's defaults), 0–100
	NewTokens  int64   // tokens generated over all prompts
	Seconds    float64 // wall-clock seconds the generation took (not reproducible, like tokens_per_s)
}

// generationsSchema returns the Arrow schema of generation.arrow.
func generationsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "step", Type: arrow.PrimitiveTypes.Int64},
		{Name: "split", Type: arrow.BinaryTypes.String},
		{Name: "prompts", Type: arrow.PrimitiveTypes.Int64},
		{Name: "exact_match", Type: arrow.PrimitiveTypes.Float64},
		{Name: "rouge_l", Type: arrow.PrimitiveTypes.Float64},
		{Name: "chrf", Type: arrow.PrimitiveTypes.Float64},
		{Name: "new_tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "seconds", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
}

// WriteGenerations writes rows to path as an Arrow IPC file with the generation.arrow schema,
// atomically.
func WriteGenerations(path string, rows []Generation) error {
	return writeArrow(path, generationsSchema(), func(b *array.RecordBuilder) {
		for _, r := range rows {
			b.Field(0).(*array.Int64Builder).Append(r.Step)
			b.Field(1).(*array.StringBuilder).Append(r.Split)
			b.Field(2).(*array.Int64Builder).Append(r.Prompts)
			b.Field(3).(*array.Float64Builder).Append(r.ExactMatch)
			b.Field(4).(*array.Float64Builder).Append(r.RougeL)
			b.Field(5).(*array.Float64Builder).Append(r.ChrF)
			b.Field(6).(*array.Int64Builder).Append(r.NewTokens)
			b.Field(7).(*array.Float64Builder).Append(r.Seconds)
		}
	})
}

// ReadGenerations reads every row of a generation.arrow file.
func ReadGenerations(path string) ([]Generation, error) {
	return openArrow(path, readGenerations)
}

// readGenerations reads the rows of the generation.arrow file r of size bytes; path names it
// in errors.
func readGenerations(path string, r ipc.ReadAtSeeker, size int64) ([]Generation, error) {
	var rows []Generation
	err := readArrow(path, r, size, func(c columns, n int) error {
		step, e1 := c.int64("step")
		split, e2 := c.string("split")
		prompts, e3 := c.int64("prompts")
		em, e4 := c.float64("exact_match")
		rl, e5 := c.float64("rouge_l")
		chrf, e6 := c.float64("chrf")
		tok, e7 := c.int64("new_tokens")
		sec, e8 := c.float64("seconds")
		if err := errors.Join(e1, e2, e3, e4, e5, e6, e7, e8); err != nil {
			return err
		}
		for i := range n {
			rows = append(rows, Generation{Step: step(i), Split: split(i), Prompts: prompts(i), ExactMatch: em(i),
				RougeL: rl(i), ChrF: chrf(i), NewTokens: tok(i), Seconds: sec(i)})
		}
		return nil
	})
	return rows, err
}

// LastGeneration returns the row with the highest step (the last such row on ties).
func LastGeneration(rows []Generation) (Generation, bool) {
	var best Generation
	found := false
	for _, g := range rows {
		if !found || g.Step >= best.Step {
			best, found = g, true
		}
	}
	return best, found
}
