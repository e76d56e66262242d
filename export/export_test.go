package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sftlab/sftlab/metrics"
)

var update = flag.Bool("update", false, "update golden files")

// fixture writes two small run folders of experiment "demo" under a temporary runs folder and
// reads them back as the export command does.
func fixture(t *testing.T) []metrics.Run {
	t.Helper()
	runs := t.TempDir()
	write := func(id, format string, lr float64, seed int, status metrics.Status, loss0 float64) {
		dir := filepath.Join(runs, "demo", id)
		cfg := "data:\n  format: " + format + "\ntrain:\n  learning_rate: " + strconv.FormatFloat(lr, 'g', -1, 64) +
			"\n  seed: " + strconv.Itoa(seed) + "\n"
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, metrics.ConfigFile), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		steps := []metrics.Step{
			{Step: 1, Epoch: 0.5, TrainLoss: loss0, LR: lr / 2, GradNorm: 1.25, Tokens: 100, TokensPerS: 1000, ElapsedS: 0.1},
			{Step: 2, Epoch: 1, TrainLoss: loss0 - 0.5, LR: lr, GradNorm: 0.75, Tokens: 200, TokensPerS: 1100, ElapsedS: 0.2},
		}
		evals := []metrics.Eval{
			{Step: 2, Split: metrics.SplitValid, Loss: loss0 - 0.25, TokenAccuracy: 0.125, Tokens: 50},
			{Step: 2, Split: metrics.SplitTrain, Loss: loss0 - 0.375, TokenAccuracy: 0.25, Tokens: 200},
		}
		if err := metrics.WriteSteps(filepath.Join(dir, metrics.StepsFile), steps); err != nil {
			t.Fatal(err)
		}
		if err := metrics.WriteEvals(filepath.Join(dir, metrics.EvalsFile), evals); err != nil {
			t.Fatal(err)
		}
		info := metrics.RunInfo{
			Name: "format=" + format + ",lr=" + strconv.FormatFloat(lr, 'g', -1, 64) + ",seed=" + strconv.Itoa(seed),
			ID:   id, Experiment: "demo", Status: status, Summary: metrics.EmptySummary(),
			Params: []metrics.Param{{Key: "data.format", Value: format}, {Key: "train.learning_rate", Value: lr}, {Key: "train.seed", Value: float64(seed)}},
		}
		if err := metrics.WriteRunInfo(filepath.Join(dir, metrics.RunInfoFile), info); err != nil {
			t.Fatal(err)
		}
	}
	write("aaaa00000001", "sft", 1e-3, 1, metrics.StatusOK, 7)
	write("bbbb00000002", "instruction", 3e-3, 2, metrics.StatusDiverged, 6.5)
	out, _, err := metrics.ReadExperiment(runs, "demo")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantColumns is the table's schema for the fixture: params typed from config.yaml.
var wantColumns = []struct {
	name string
	typ  arrow.Type
}{
	{"experiment", arrow.STRING}, {"run", arrow.STRING}, {"run_id", arrow.STRING}, {"status", arrow.STRING},
	{"format", arrow.STRING}, {"lr", arrow.FLOAT64}, {"seed", arrow.INT64},
	{"step", arrow.INT64}, {"split", arrow.STRING}, {"metric", arrow.STRING}, {"value", arrow.FLOAT64},
}

// rowsPerRun: 2 steps × 7 metrics + 2 evals × 3 metrics.
const rowsPerRun = 2*7 + 2*3

func checkSchema(t *testing.T, s *arrow.Schema) {
	t.Helper()
	if s.NumFields() != len(wantColumns) {
		t.Fatalf("schema %v, want %d columns", s, len(wantColumns))
	}
	for i, w := range wantColumns {
		if f := s.Field(i); f.Name != w.name || f.Type.ID() != w.typ {
			t.Errorf("column %d is %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
}

// Parquet written by the exporter, read back with arrow-go's Parquet reader: the schema, every
// value of one run's train_loss, and nulls where a training row has no split.
func TestParquetReadBack(t *testing.T) {
	runs := fixture(t)
	path := filepath.Join(t.TempDir(), "demo.parquet")
	n, err := WriteFile(path, runs, Parquet)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*rowsPerRun {
		t.Fatalf("%d rows, want %d", n, 2*rowsPerRun)
	}
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if rdr.NumRows() != n {
		t.Errorf("parquet metadata says %d rows, want %d", rdr.NumRows(), n)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	checkSchema(t, tbl.Schema())
	col := func(i int) arrow.Array { return tbl.Column(i).Data().Chunk(0) }
	runCol, lr, seed := col(1).(*array.String), col(5).(*array.Float64), col(6).(*array.Int64)
	split, metric, value := col(8).(*array.String), col(9).(*array.String), col(10).(*array.Float64)
	var losses []float64
	for i := range int(tbl.NumRows()) {
		if runCol.Value(i) == "format=sft,lr=0.001,seed=1" {
			if lr.Value(i) != 1e-3 || seed.Value(i) != 1 {
				t.Fatalf("row %d: lr %v seed %v, want 0.001 and 1", i, lr.Value(i), seed.Value(i))
			}
			if metric.Value(i) == MetricTrainLoss {
				losses = append(losses, value.Value(i))
			}
		}
		if isEval := metric.Value(i) == MetricEvalLoss || metric.Value(i) == MetricTokenAccuracy || metric.Value(i) == MetricEvalTokens; split.IsNull(i) == isEval {
			t.Errorf("row %d: metric %s with split null = %v", i, metric.Value(i), split.IsNull(i))
		}
	}
	if !slices.Equal(losses, []float64{7, 6.5}) {
		t.Errorf("train_loss of the sft run read back as %v, want [7 6.5]", losses)
	}
}

// CSV is read back with encoding/csv, and pinned by a golden file.
func TestCSV(t *testing.T) {
	runs := fixture(t)
	rec := Table(runs)
	defer rec.Release()
	var buf bytes.Buffer
	if err := Write(&buf, rec, CSV); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "demo.csv")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("CSV differs from %s (go test -update to accept):\n%s", golden, buf.Bytes())
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*rowsPerRun {
		t.Fatalf("%d CSV lines, want a header and %d rows", len(rows), 2*rowsPerRun)
	}
	for i, w := range wantColumns {
		if rows[0][i] != w.name {
			t.Errorf("header column %d = %q, want %q", i, rows[0][i], w.name)
		}
	}
	for _, row := range rows[1:] {
		if _, err := strconv.ParseFloat(row[10], 64); err != nil {
			t.Errorf("value %q is not a number: %v", row[10], err)
		}
	}
}

func TestArrowReadBack(t *testing.T) {
	runs := fixture(t)
	path := filepath.Join(t.TempDir(), "demo.arrow")
	if _, err := WriteFile(path, runs, Arrow); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkSchema(t, r.Schema())
	var rows int64
	sum := 0.0
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		rows += rec.NumRows()
		m, v := rec.Column(9).(*array.String), rec.Column(10).(*array.Float64)
		for j := range int(rec.NumRows()) {
			if m.Value(j) == MetricEvalTokens {
				sum += v.Value(j)
			}
		}
	}
	if rows != 2*rowsPerRun || sum != 2*(50+200) {
		t.Errorf("%d rows, eval_tokens sum %v; want %d and 500", rows, sum, 2*rowsPerRun)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{{"parquet", Parquet, false}, {"CSV", CSV, false}, {"arrow", Arrow, false}, {"xlsx", "", true}}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseFormat(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
}

// A swept key with mixed types becomes a column that holds them all.
func TestColumnType(t *testing.T) {
	tests := []struct {
		name string
		vals []any
		want arrow.Type
	}{
		{"ints", []any{1, 2}, arrow.INT64},
		{"ints and floats", []any{1, 2.5}, arrow.FLOAT64},
		{"bools", []any{true, false}, arrow.BOOL},
		{"mixed", []any{1, "a"}, arrow.STRING},
		{"none", nil, arrow.STRING},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := columnType(tt.vals).ID(); got != tt.want {
				t.Errorf("columnType(%v) = %s, want %s", tt.vals, got, tt.want)
			}
		})
	}
}
