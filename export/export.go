package export

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/metrics"
)

// Format is a file format of the table.
type Format string

// The formats Write knows.
const (
	Parquet Format = "parquet"
	CSV     Format = "csv"
	Arrow   Format = "arrow" // Arrow IPC file (Feather v2)
)

// Formats lists the formats, for messages.
func Formats() []Format { return []Format{Parquet, CSV, Arrow} }

// ParseFormat parses a format name.
func ParseFormat(s string) (Format, error) {
	if f := Format(strings.ToLower(s)); slices.Contains(Formats(), f) {
		return f, nil
	}
	return "", fmt.Errorf("--format %q: want parquet, csv or arrow", s)
}

// Ext is the file name extension of the format, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// The metric names of the rows.
const (
	MetricEpoch         = "epoch"
	MetricTrainLoss     = "train_loss"
	MetricLR            = "lr"
	MetricGradNorm      = "grad_norm"
	MetricTokens        = "tokens"
	MetricTokensPerS    = "tokens_per_s"
	MetricElapsedS      = "elapsed_s"
	MetricEvalLoss      = "eval_loss"
	MetricTokenAccuracy = "token_accuracy"
	MetricEvalTokens    = "eval_tokens"
)

// fixedBefore and fixedAfter are the columns around the parameter columns.
var (
	fixedBefore = []string{"experiment", "run", "run_id", "status"}
	fixedAfter  = []string{"step", "split", "metric", "value"}
)

// param is one swept key as a column.
type param struct {
	key    string
	column string
	typ    arrow.DataType
}

// Table builds the long-form table of runs (as metrics.ReadExperiment returns them). The caller
// releases the record.
func Table(runs []metrics.Run) arrow.RecordBatch {
	params := paramColumns(runs)
	fields := make([]arrow.Field, 0, len(fixedBefore)+len(params)+len(fixedAfter))
	for _, name := range fixedBefore {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String})
	}
	for _, p := range params {
		fields = append(fields, arrow.Field{Name: p.column, Type: p.typ, Nullable: true})
	}
	fields = append(fields,
		arrow.Field{Name: "step", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "split", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "metric", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "value", Type: arrow.PrimitiveTypes.Float64},
	)
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()

	nb := len(fixedBefore)
	na := nb + len(params)
	for _, r := range runs {
		values := make([]any, len(params))
		for i, p := range params {
			values[i] = paramValue(r, p.key)
		}
		row := func(step int64, split, metric string, value float64) {
			for i, v := range []string{r.Info.Experiment, r.Info.Name, r.Info.ID, string(r.Info.Status)} {
				b.Field(i).(*array.StringBuilder).Append(v)
			}
			for i, p := range params {
				appendParam(b.Field(nb+i), p.typ, values[i])
			}
			b.Field(na).(*array.Int64Builder).Append(step)
			if split == "" {
				b.Field(na + 1).AppendNull()
			} else {
				b.Field(na + 1).(*array.StringBuilder).Append(split)
			}
			b.Field(na + 2).(*array.StringBuilder).Append(metric)
			b.Field(na + 3).(*array.Float64Builder).Append(value)
		}
		for _, s := range r.Steps {
			row(s.Step, "", MetricEpoch, s.Epoch)
			row(s.Step, "", MetricTrainLoss, s.TrainLoss)
			row(s.Step, "", MetricLR, s.LR)
			row(s.Step, "", MetricGradNorm, s.GradNorm)
			row(s.Step, "", MetricTokens, float64(s.Tokens))
			row(s.Step, "", MetricTokensPerS, s.TokensPerS)
			row(s.Step, "", MetricElapsedS, s.ElapsedS)
		}
		for _, e := range r.Evals {
			row(e.Step, e.Split, MetricEvalLoss, e.Loss)
			row(e.Step, e.Split, MetricTokenAccuracy, e.TokenAccuracy)
			row(e.Step, e.Split, MetricEvalTokens, float64(e.Tokens))
		}
	}
	return b.NewRecordBatch()
}

// paramColumns finds the swept keys of the runs, sorted by key, and the type of each column.
func paramColumns(runs []metrics.Run) []param {
	var keys []string
	for _, r := range runs {
		for _, p := range r.Info.Params {
			if !slices.Contains(keys, p.Key) {
				keys = append(keys, p.Key)
			}
		}
	}
	slices.Sort(keys)
	taken := map[string]bool{}
	for _, name := range append(slices.Clone(fixedBefore), fixedAfter...) {
		taken[name] = true
	}
	out := make([]param, len(keys))
	for i, key := range keys {
		col := strings.ReplaceAll(configs.Alias(key), ".", "_")
		if taken[col] {
			col = "param_" + col
		}
		taken[col] = true
		var vals []any
		for _, r := range runs {
			if v := paramValue(r, key); v != nil {
				vals = append(vals, v)
			}
		}
		out[i] = param{key: key, column: col, typ: columnType(vals)}
	}
	return out
}

// paramValue is run r's value of key: from config.yaml, which keeps YAML's types (an integer
// stays one), else from run.json's params; nil when the run has none.
func paramValue(r metrics.Run, key string) any {
	if v, ok := r.Config[key]; ok && v != nil {
		return v
	}
	for _, p := range r.Info.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

// columnType is the narrowest of int64, float64, bool and utf8 that holds every value.
func columnType(vals []any) arrow.DataType {
	ints, nums, bools := true, true, true
	for _, v := range vals {
		switch v.(type) {
		case int, int64:
			bools = false
		case float64, float32:
			ints, bools = false, false
		case bool:
			ints, nums = false, false
		default:
			ints, nums, bools = false, false, false
		}
	}
	switch {
	case len(vals) == 0:
		return arrow.BinaryTypes.String
	case ints:
		return arrow.PrimitiveTypes.Int64
	case nums:
		return arrow.PrimitiveTypes.Float64
	case bools:
		return arrow.FixedWidthTypes.Boolean
	}
	return arrow.BinaryTypes.String
}

// appendParam appends v, converted to the column's type, or null.
func appendParam(b array.Builder, typ arrow.DataType, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch typ.ID() {
	case arrow.INT64:
		switch x := v.(type) {
		case int:
			b.(*array.Int64Builder).Append(int64(x))
		case int64:
			b.(*array.Int64Builder).Append(x)
		}
	case arrow.FLOAT64:
		switch x := v.(type) {
		case int:
			b.(*array.Float64Builder).Append(float64(x))
		case int64:
			b.(*array.Float64Builder).Append(float64(x))
		case float32:
			b.(*array.Float64Builder).Append(float64(x))
		case float64:
			b.(*array.Float64Builder).Append(x)
		}
	case arrow.BOOL:
		b.(*array.BooleanBuilder).Append(v.(bool))
	default:
		b.(*array.StringBuilder).Append(configs.FormatValue(v))
	}
}

// Write writes rec to w in format f.
func Write(w io.Writer, rec arrow.RecordBatch, f Format) error {
	switch f {
	case Parquet:
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
		// Hide w's Close, if it has one: the Parquet writer would close the caller's file.
		pw, err := pqarrow.NewFileWriter(rec.Schema(), struct{ io.Writer }{w}, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		if err := pw.Write(rec); err != nil {
			pw.Close()
			return fmt.Errorf("parquet: %w", err)
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		return nil
	case CSV:
		cw := csv.NewWriter(w, rec.Schema(), csv.WithHeader(true), csv.WithNullWriter(""))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		if err := cw.Flush(); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		return nil
	case Arrow:
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(rec.Schema()))
		if err != nil {
			return fmt.Errorf("arrow: %w", err)
		}
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return fmt.Errorf("arrow: %w", err)
		}
		if err := fw.Close(); err != nil {
			return fmt.Errorf("arrow: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown format %q: want parquet, csv or arrow", f)
}

// WriteFile builds the table of runs and writes it to path in format f, atomically. It returns
// the number of rows.
func WriteFile(path string, runs []metrics.Run, f Format) (int64, error) {
	rec := Table(runs)
	defer rec.Release()
	if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, rec, f) }); err != nil {
		return 0, err
	}
	return rec.NumRows(), nil
}
