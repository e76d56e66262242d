package metrics

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sftlab/sftlab/internal/arrowguard"
	"github.com/sftlab/sftlab/internal/atomicfile"
)

// File names inside a run folder.
const (
	StepsFile   = "metrics.arrow"
	EvalsFile   = "eval.arrow"
	RunInfoFile = "run.json"
	ConfigFile  = "config.yaml"
	SamplesFile = "samples.jsonl"
)

// Eval split names used in eval.arrow.
const (
	SplitValid = "valid" // held-out examples: what eval_loss means
	SplitTrain = "train" // training examples (the classroom's eval_on: train)
)

// Step is one row of metrics.arrow: the state after one optimizer step.
type Step struct {
	Step       int64   // optimizer step, 1-based
	Epoch      float64 // fractional epochs of the training split consumed so far
	TrainLoss  float64 // mean cross-entropy over the step's unmasked tokens (nats)
	LR         float64 // learning rate used for this step
	GradNorm   float64 // global L2 norm of the gradient before clipping
	Tokens     int64   // non-padding input tokens trained on so far (cumulative)
	TokensPerS float64 // tokens processed per wall-clock second in this step
	ElapsedS   float64 // wall-clock seconds since training started
}

// Eval is one row of eval.arrow: one evaluation of one split.
type Eval struct {
	Step          int64   // optimizer step after which the evaluation ran
	Split         string  // SplitValid or SplitTrain
	Loss          float64 // mean cross-entropy over the split's unmasked tokens (nats)
	TokenAccuracy float64 // fraction of unmasked tokens whose argmax prediction is right
	Tokens        int64   // unmasked tokens evaluated
	// AnswerLoss is the mean cross-entropy over the response tokens and their closing EOS only,
	// whatever the masking (nats); NaN in files written before the column existed.
	AnswerLoss   float64
	AnswerTokens int64 // response and closing-EOS tokens evaluated (0 in older files)
}

// stepsSchema returns the Arrow schema of metrics.arrow.
func stepsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "step", Type: arrow.PrimitiveTypes.Int64},
		{Name: "epoch", Type: arrow.PrimitiveTypes.Float64},
		{Name: "train_loss", Type: arrow.PrimitiveTypes.Float64},
		{Name: "lr", Type: arrow.PrimitiveTypes.Float64},
		{Name: "grad_norm", Type: arrow.PrimitiveTypes.Float64},
		{Name: "tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "tokens_per_s", Type: arrow.PrimitiveTypes.Float64},
		{Name: "elapsed_s", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
}

// evalsSchema returns the Arrow schema of eval.arrow.
func evalsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "step", Type: arrow.PrimitiveTypes.Int64},
		{Name: "split", Type: arrow.BinaryTypes.String},
		{Name: "loss", Type: arrow.PrimitiveTypes.Float64},
		{Name: "token_accuracy", Type: arrow.PrimitiveTypes.Float64},
		{Name: "tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "answer_loss", Type: arrow.PrimitiveTypes.Float64},
		{Name: "answer_tokens", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// WriteSteps writes rows to path as an Arrow IPC file with the metrics.arrow schema, atomically.
func WriteSteps(path string, rows []Step) error {
	return writeArrow(path, stepsSchema(), func(b *array.RecordBuilder) {
		for _, r := range rows {
			b.Field(0).(*array.Int64Builder).Append(r.Step)
			b.Field(1).(*array.Float64Builder).Append(r.Epoch)
			b.Field(2).(*array.Float64Builder).Append(r.TrainLoss)
			b.Field(3).(*array.Float64Builder).Append(r.LR)
			b.Field(4).(*array.Float64Builder).Append(r.GradNorm)
			b.Field(5).(*array.Int64Builder).Append(r.Tokens)
			b.Field(6).(*array.Float64Builder).Append(r.TokensPerS)
			b.Field(7).(*array.Float64Builder).Append(r.ElapsedS)
		}
	})
}

// WriteEvals writes rows to path as an Arrow IPC file with the eval.arrow schema, atomically.
func WriteEvals(path string, rows []Eval) error {
	return writeArrow(path, evalsSchema(), func(b *array.RecordBuilder) {
		for _, r := range rows {
			b.Field(0).(*array.Int64Builder).Append(r.Step)
			b.Field(1).(*array.StringBuilder).Append(r.Split)
			b.Field(2).(*array.Float64Builder).Append(r.Loss)
			b.Field(3).(*array.Float64Builder).Append(r.TokenAccuracy)
			b.Field(4).(*array.Int64Builder).Append(r.Tokens)
			b.Field(5).(*array.Float64Builder).Append(r.AnswerLoss)
			b.Field(6).(*array.Int64Builder).Append(r.AnswerTokens)
		}
	})
}

// writeArrow builds one record batch with fill and writes it as an IPC file.
func writeArrow(path string, schema *arrow.Schema, fill func(*array.RecordBuilder)) error {
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	return atomicfile.Write(path, func(w io.Writer) error {
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		if err != nil {
			return fmt.Errorf("arrow writer: %w", err)
		}
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return fmt.Errorf("arrow record batch: %w", err)
		}
		return fw.Close()
	})
}

// ReadSteps reads every row of a metrics.arrow file.
func ReadSteps(path string) ([]Step, error) {
	return openArrow(path, readSteps)
}

// readSteps reads the rows of the metrics.arrow file r of size bytes; path names it in errors.
func readSteps(path string, r ipc.ReadAtSeeker, size int64) ([]Step, error) {
	var rows []Step
	err := readArrow(path, r, size, func(c columns, n int) error {
		step, e1 := c.int64("step")
		epoch, e2 := c.float64("epoch")
		loss, e3 := c.float64("train_loss")
		lr, e4 := c.float64("lr")
		gn, e5 := c.float64("grad_norm")
		tok, e6 := c.int64("tokens")
		tps, e7 := c.float64("tokens_per_s")
		el, e8 := c.float64("elapsed_s")
		if err := errors.Join(e1, e2, e3, e4, e5, e6, e7, e8); err != nil {
			return err
		}
		for i := range n {
			rows = append(rows, Step{
				Step: step(i), Epoch: epoch(i), TrainLoss: loss(i), LR: lr(i), GradNorm: gn(i),
				Tokens: tok(i), TokensPerS: tps(i), ElapsedS: el(i),
			})
		}
		return nil
	})
	return rows, err
}

// ReadEvals reads every row of an eval.arrow file. Files written before the answer_loss and
// answer_tokens columns existed read with AnswerLoss NaN and AnswerTokens 0.
func ReadEvals(path string) ([]Eval, error) {
	return openArrow(path, readEvals)
}

// readEvals reads the rows of the eval.arrow file r of size bytes; path names it in errors.
func readEvals(path string, r ipc.ReadAtSeeker, size int64) ([]Eval, error) {
	var rows []Eval
	err := readArrow(path, r, size, func(c columns, n int) error {
		step, e1 := c.int64("step")
		split, e2 := c.string("split")
		loss, e3 := c.float64("loss")
		acc, e4 := c.float64("token_accuracy")
		tok, e5 := c.int64("tokens")
		ansLoss, e6 := c.optionalFloat64("answer_loss")
		ansTok, e7 := c.optionalInt64("answer_tokens")
		if err := errors.Join(e1, e2, e3, e4, e5, e6, e7); err != nil {
			return err
		}
		for i := range n {
			rows = append(rows, Eval{Step: step(i), Split: split(i), Loss: loss(i), TokenAccuracy: acc(i), Tokens: tok(i),
				AnswerLoss: ansLoss(i), AnswerTokens: ansTok(i)})
		}
		return nil
	})
	return rows, err
}

// openArrow opens the file at path and returns what read gives for it and its size.
func openArrow[T any](path string, read func(path string, r ipc.ReadAtSeeker, size int64) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return read(path, f, st.Size())
}

// readArrow calls each with every record batch of the Arrow IPC file f of size bytes. The
// reader's memory is bounded by the file's size and its panics on a corrupt file become errors
// (see internal/arrowguard), so a damaged metrics file is reported, never crashed on.
func readArrow(path string, f ipc.ReadAtSeeker, size int64, each func(c columns, n int) error) error {
	return arrowguard.Read(path, func() error {
		if err := arrowguard.CheckFile(f, size); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r, err := ipc.NewFileReader(f, arrowguard.ReaderOptions(size)...)
		if err != nil {
			return fmt.Errorf("%s: not an Arrow IPC file (rewrite it with metrics.WriteSteps/WriteEvals): %w", path, err)
		}
		defer r.Close()
		for i := range r.NumRecords() {
			rec, err := r.RecordBatch(i)
			if err != nil {
				return fmt.Errorf("%s: record batch %d: %w", path, i, err)
			}
			if err := each(columns{rec}, int(rec.NumRows())); err != nil {
				return fmt.Errorf("%s: record batch %d: %w", path, i, err)
			}
		}
		return nil
	})
}

// columns looks up typed columns of a record batch by name. Null values read as zero (integers),
// NaN (floats) or "" (strings).
type columns struct{ rec arrow.RecordBatch }

func (c columns) column(name string) (arrow.Array, error) {
	idx := c.rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("column %q missing", name)
	}
	col := c.rec.Column(idx[0])
	if col.Len() != int(c.rec.NumRows()) {
		return nil, fmt.Errorf("column %q: %d values in a batch of %d rows (corrupt file)", name, col.Len(), c.rec.NumRows())
	}
	if err := arrowguard.ValidateColumn(col); err != nil {
		return nil, fmt.Errorf("column %q: corrupt: %w", name, err)
	}
	return col, nil
}

func (c columns) int64(name string) (func(int) int64, error) {
	col, err := c.column(name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Int64)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, want int64", name, col.DataType())
	}
	return func(i int) int64 {
		if a.IsNull(i) {
			return 0
		}
		return a.Value(i)
	}, nil
}

func (c columns) float64(name string) (func(int) float64, error) {
	col, err := c.column(name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.Float64)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, want float64", name, col.DataType())
	}
	return func(i int) float64 {
		if a.IsNull(i) {
			return math.NaN()
		}
		return a.Value(i)
	}, nil
}

// optionalFloat64 is float64 for a column that older files lack: a missing column reads as NaN.
func (c columns) optionalFloat64(name string) (func(int) float64, error) {
	if len(c.rec.Schema().FieldIndices(name)) == 0 {
		return func(int) float64 { return math.NaN() }, nil
	}
	return c.float64(name)
}

// optionalInt64 is int64 for a column that older files lack: a missing column reads as 0.
func (c columns) optionalInt64(name string) (func(int) int64, error) {
	if len(c.rec.Schema().FieldIndices(name)) == 0 {
		return func(int) int64 { return 0 }, nil
	}
	return c.int64(name)
}

func (c columns) string(name string) (func(int) string, error) {
	col, err := c.column(name)
	if err != nil {
		return nil, err
	}
	a, ok := col.(*array.String)
	if !ok {
		return nil, fmt.Errorf("column %q is %s, want utf8", name, col.DataType())
	}
	return func(i int) string {
		if a.IsNull(i) {
			return ""
		}
		return a.Value(i)
	}, nil
}
