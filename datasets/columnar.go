package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sftlab/sftlab/internal/arrowguard"
	"github.com/sftlab/sftlab/tokenizer"
)

// Column names read from Parquet and Arrow files. "messages" is either a list of structs with
// string fields "role" and "content", or a string column holding that list as JSON.
const (
	colTask        = "task"
	colInstruction = "instruction"
	colInput       = "input"
	colOutput      = "output"
	colMessages    = "messages"
)

// loadParquet reads records from a Parquet file. The reader's memory is bounded by the file's
// size and its panics on corrupt input become errors (see internal/arrowguard).
func loadParquet(path string) ([]Record, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readParquet(path, f, size)
}

// readParquet reads records from the Parquet file r of size bytes; path names it in errors.
func readParquet(path string, r parquet.ReaderAtSeeker, size int64) ([]Record, error) {
	mem := arrowguard.NewAllocator(arrowguard.Budget(size))
	cr := columnReader{path: path}
	err := arrowguard.Read("dataset "+path, func() error {
		props := parquet.NewReaderProperties(mem)
		tbl, err := pqarrow.ReadTable(context.Background(), r, props, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			return fmt.Errorf("dataset %s: not a readable Parquet file: %w", path, err)
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, 1<<16)
		defer tr.Release()
		for tr.Next() {
			if err := cr.add(tr.RecordBatch()); err != nil {
				return err
			}
		}
		if err := tr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("dataset %s: %w", path, err)
		}
		return nil
	})
	return cr.recs, err
}

// openSized opens the dataset file at path and returns its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("dataset %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("dataset %s: %w", path, err)
	}
	return f, st.Size(), nil
}

// loadArrow reads records from an Arrow IPC file (the random-access "file" format, also called
// Feather v2) or, failing that, an Arrow IPC stream. As for Parquet, memory is bounded by the
// file's size and corrupt input is an error.
func loadArrow(path string) ([]Record, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readArrowData(path, f, size)
}

// readArrowData reads records from the Arrow IPC file or stream f of size bytes; path names it
// in errors.
func readArrowData(path string, f ipc.ReadAtSeeker, size int64) ([]Record, error) {
	opts := arrowguard.ReaderOptions(size)
	cr := columnReader{path: path}
	err := arrowguard.Read("dataset "+path, func() error {
		if arrowguard.IsFile(f, size) {
			if err := arrowguard.CheckFile(f, size); err != nil {
				return fmt.Errorf("dataset %s: %w", path, err)
			}
			fr, err := ipc.NewFileReader(f, opts...)
			if err != nil {
				return fmt.Errorf("dataset %s: not a readable Arrow IPC file: %w", path, err)
			}
			defer fr.Close()
			for i := range fr.NumRecords() {
				batch, err := fr.RecordBatch(i)
				if err != nil {
					return fmt.Errorf("dataset %s: record batch %d: %w", path, i, err)
				}
				if err := cr.add(batch); err != nil {
					return err
				}
			}
			return nil
		}
		if err := arrowguard.CheckStream(f, size); err != nil {
			return fmt.Errorf("dataset %s: not an Arrow IPC file or stream: %w", path, err)
		}
		sr, err := ipc.NewReader(f, opts...)
		if err != nil {
			return fmt.Errorf("dataset %s: not an Arrow IPC file or stream: %w", path, err)
		}
		defer sr.Release()
		for sr.Next() {
			if err := cr.add(sr.RecordBatch()); err != nil {
				return err
			}
		}
		if err := sr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("dataset %s: %w", path, err)
		}
		return nil
	})
	return cr.recs, err
}

// columnReader turns record batches of one file into Records, counting rows across batches so
// errors name the row.
type columnReader struct {
	path string
	rows int
	recs []Record
}

// stringColumn is satisfied by arrow's String, LargeString and StringView arrays.
type stringColumn interface {
	arrow.Array
	Value(i int) string
}

func (c *columnReader) add(batch arrow.RecordBatch) error {
	schema := batch.Schema()
	column := func(name string) (arrow.Array, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return nil, nil
		}
		col := batch.Column(idx[0])
		if col.Len() != int(batch.NumRows()) {
			return nil, fmt.Errorf("dataset %s: column %q: %d values in a batch of %d rows (corrupt file)", c.path, name, col.Len(), batch.NumRows())
		}
		return col, nil
	}
	strCol := func(name string) (stringColumn, error) {
		col, err := column(name)
		if col == nil || err != nil {
			return nil, err
		}
		s, ok := col.(stringColumn)
		if !ok {
			return nil, fmt.Errorf("dataset %s: column %q has type %s, want a string column", c.path, name, col.DataType())
		}
		if err := arrowguard.ValidateColumn(col); err != nil {
			return nil, fmt.Errorf("dataset %s: column %q: corrupt: %w", c.path, name, err)
		}
		return s, nil
	}
	task, err := strCol(colTask)
	if err != nil {
		return err
	}
	msgCol, err := column(colMessages)
	if err != nil {
		return err
	}
	if msgCol != nil {
		if err := arrowguard.ValidateColumn(msgCol); err != nil {
			return fmt.Errorf("dataset %s: column %q: corrupt: %w", c.path, colMessages, err)
		}
	}
	var instr, input, output stringColumn
	if msgCol == nil {
		if instr, err = strCol(colInstruction); err != nil {
			return err
		}
		if input, err = strCol(colInput); err != nil {
			return err
		}
		if output, err = strCol(colOutput); err != nil {
			return err
		}
		if output == nil || (instr == nil && input == nil) {
			return fmt.Errorf("dataset %s: columns %v: want string columns %q, %q and %q (alpaca shape) or a %q column (chat shape)",
				c.path, fieldNames(schema), colInstruction, colInput, colOutput, colMessages)
		}
	}
	get := func(col stringColumn, i int) string {
		if col == nil || col.IsNull(i) {
			return ""
		}
		return col.Value(i)
	}
	for i := range int(batch.NumRows()) {
		row := c.rows + i
		r := Record{Task: get(task, i)}
		if msgCol != nil {
			msgs, err := messagesAt(msgCol, i)
			if err != nil {
				return fmt.Errorf("dataset %s: row %d: column %q: %w", c.path, row, colMessages, err)
			}
			if err := validateChat(msgs); err != nil {
				return fmt.Errorf("dataset %s: row %d: %w", c.path, row, err)
			}
			r.Messages = msgs
		} else {
			r.Instruction, r.Input, r.Output = get(instr, i), get(input, i), get(output, i)
			if err := validateAlpaca(r); err != nil {
				return fmt.Errorf("dataset %s: row %d: %w", c.path, row, err)
			}
		}
		if err := checkText(r); err != nil {
			return fmt.Errorf("dataset %s: row %d: %w", c.path, row, err)
		}
		c.recs = append(c.recs, r)
	}
	c.rows += int(batch.NumRows())
	return nil
}

// messagesAt reads the messages of row i from a list<struct<role, content>> column or from a
// string column holding them as JSON.
func messagesAt(col arrow.Array, i int) ([]tokenizer.Message, error) {
	if col.IsNull(i) {
		return nil, errors.New("null: want a list of {role, content}")
	}
	if s, ok := col.(stringColumn); ok {
		text := s.Value(i)
		if len(text) > MaxRecordBytes {
			return nil, errTooLarge(len(text))
		}
		if !utf8.ValidString(text) {
			return nil, errors.New("not valid UTF-8: write the file's strings as UTF-8")
		}
		var raw []rawMessage
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		msgs := make([]tokenizer.Message, len(raw))
		for j, m := range raw {
			if m.Role == nil || m.Content == nil {
				return nil, fmt.Errorf("messages[%d]: missing \"role\" or \"content\"", j)
			}
			msgs[j] = tokenizer.Message{Role: *m.Role, Content: *m.Content}
		}
		return msgs, nil
	}
	list, ok := col.(array.ListLike)
	if !ok {
		return nil, fmt.Errorf("type %s: want list<struct<role: string, content: string>> or a JSON string", col.DataType())
	}
	st, ok := list.ListValues().(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("type %s: want list<struct<role: string, content: string>>", col.DataType())
	}
	field := func(name string) (stringColumn, error) {
		idx, ok := st.DataType().(*arrow.StructType).FieldIdx(name)
		if !ok {
			return nil, fmt.Errorf("type %s: the struct has no %q field", col.DataType(), name)
		}
		s, ok := st.Field(idx).(stringColumn)
		if !ok {
			return nil, fmt.Errorf("type %s: field %q is not a string", col.DataType(), name)
		}
		return s, nil
	}
	roles, err := field("role")
	if err != nil {
		return nil, err
	}
	contents, err := field("content")
	if err != nil {
		return nil, err
	}
	start, end := list.ValueOffsets(i)
	msgs := make([]tokenizer.Message, 0, end-start)
	for j := int(start); j < int(end); j++ {
		if st.IsNull(j) || roles.IsNull(j) || contents.IsNull(j) {
			return nil, fmt.Errorf("messages[%d]: null role or content", j-int(start))
		}
		msgs = append(msgs, tokenizer.Message{Role: roles.Value(j), Content: contents.Value(j)})
	}
	return msgs, nil
}

// fieldNames lists the column names of schema, for error messages.
func fieldNames(schema *arrow.Schema) []string {
	names := make([]string, schema.NumFields())
	for i := range names {
		names[i] = schema.Field(i).Name
	}
	return names
}

// checkText refuses a record read from a Parquet or Arrow row whose text is larger than
// MaxRecordBytes or not valid UTF-8 (Arrow strings should be UTF-8, but nothing checks it).
func checkText(r Record) error {
	size := len(r.Task) + len(r.Instruction) + len(r.Input) + len(r.Output)
	for _, m := range r.Messages {
		size += len(m.Role) + len(m.Content)
	}
	if size > MaxRecordBytes {
		return errTooLarge(size)
	}
	for _, f := range []struct{ name, text string }{{colTask, r.Task}, {colInstruction, r.Instruction}, {colInput, r.Input}, {colOutput, r.Output}} {
		if !utf8.ValidString(f.text) {
			return fmt.Errorf("column %q is not valid UTF-8: write the file's strings as UTF-8", f.name)
		}
	}
	for j, m := range r.Messages {
		// The column is named only when the check fails: this runs for every row.
		if !utf8.ValidString(m.Role) {
			return fmt.Errorf("column %q is not valid UTF-8: write the file's strings as UTF-8", fmt.Sprintf("%s[%d].role", colMessages, j))
		}
		if !utf8.ValidString(m.Content) {
			return fmt.Errorf("column %q is not valid UTF-8: write the file's strings as UTF-8", fmt.Sprintf("%s[%d].content", colMessages, j))
		}
	}
	return nil
}
