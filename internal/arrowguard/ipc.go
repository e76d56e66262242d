package arrowguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The Arrow IPC format frames flatbuffer metadata (Schema, RecordBatch, DictionaryBatch
// messages, and a file's Footer) around the data bodies. arrow-go sizes slices from the
// vector lengths in that metadata without checking them (a 1.5 KB file with a mutated field
// count asks for 230 GB in schemaFromFB, and a fatal out-of-memory error cannot be recovered),
// and follows offsets that can wrap around into cycles. Neither arrow-go nor the flatbuffers Go
// runtime has a verifier, so CheckFile and CheckStream walk the metadata first: every table,
// vector and string must lie inside its buffer, every offset must point forward, nesting is
// bounded, and the number of elements visited may not exceed what the buffer could hold
// without sharing (so a small buffer cannot describe a huge schema by reusing one table).

// Message header types (Message.fbs, union MessageHeader).
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
)

// Field type ids with vectors or strings in their tables (Schema.fbs, union Type).
const (
	typeTimestamp = 10 // timezone: string
	typeUnion     = 14 // typeIds: [int]
)

// maxNesting bounds how deeply fields nest (children of children ...).
const maxNesting = 64

// errCorrupt is wrapped by every verification failure.
var errCorrupt = errors.New("corrupt Arrow IPC metadata")

var (
	arrowMagic   = []byte("ARROW1")
	continuation = uint32(0xFFFFFFFF)
)

// fb reads one flatbuffer with bounds checks.
type fb struct {
	buf    []byte
	budget int // elements (tables, vector entries) that may still be visited
}

func newFB(buf []byte) *fb { return &fb{buf: buf, budget: len(buf)/4 + 16} }

func (b *fb) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
}

// u32 reads a little-endian uint32 at pos.
func (b *fb) u32(pos uint64) (uint32, error) {
	if pos+4 > uint64(len(b.buf)) {
		return 0, b.fail("offset %d outside the %d-byte metadata", pos, len(b.buf))
	}
	return binary.LittleEndian.Uint32(b.buf[pos:]), nil
}

// u16 reads a little-endian uint16 at pos.
func (b *fb) u16(pos uint64) (uint16, error) {
	if pos+2 > uint64(len(b.buf)) {
		return 0, b.fail("offset %d outside the %d-byte metadata", pos, len(b.buf))
	}
	return binary.LittleEndian.Uint16(b.buf[pos:]), nil
}

// spend accounts for n visited elements.
func (b *fb) spend(n uint64) error {
	if n > uint64(b.budget) {
		return b.fail("more elements than %d bytes of metadata can hold", len(b.buf))
	}
	b.budget -= int(n)
	return nil
}

// indirect follows the uoffset stored at pos, which must point forward inside the buffer.
func (b *fb) indirect(pos uint64) (uint64, error) {
	off, err := b.u32(pos)
	if err != nil {
		return 0, err
	}
	target := pos + uint64(off)
	if off == 0 || target >= uint64(len(b.buf)) {
		return 0, b.fail("offset at %d points to %d, outside the %d-byte metadata", pos, target, len(b.buf))
	}
	return target, nil
}

// table is a checked table: its position, its vtable and its object's length.
type table struct {
	b             *fb
	pos, vt       uint64
	vtLen, objLen uint16
}

// table checks the table at pos.
func (b *fb) table(pos uint64) (table, error) {
	if err := b.spend(1); err != nil {
		return table{}, err
	}
	soff, err := b.u32(pos)
	if err != nil {
		return table{}, err
	}
	vt := int64(pos) - int64(int32(soff))
	if vt < 0 || vt+4 > int64(len(b.buf)) {
		return table{}, b.fail("table at %d has its vtable at %d, outside the metadata", pos, vt)
	}
	vtLen, _ := b.u16(uint64(vt))
	objLen, _ := b.u16(uint64(vt) + 2)
	if vtLen < 4 || vtLen%2 != 0 || uint64(vt)+uint64(vtLen) > uint64(len(b.buf)) || pos+uint64(objLen) > uint64(len(b.buf)) {
		return table{}, b.fail("table at %d: vtable of %d bytes, object of %d bytes do not fit", pos, vtLen, objLen)
	}
	return table{b: b, pos: pos, vt: uint64(vt), vtLen: vtLen, objLen: objLen}, nil
}

// field returns the offset from the table's position of field i, of size bytes, 0 when the
// field is absent.
func (t table) field(i int, size uint16) (uint16, error) {
	slot := 4 + 2*uint64(i)
	if slot+2 > uint64(t.vtLen) {
		return 0, nil
	}
	f, _ := t.b.u16(t.vt + slot)
	if f != 0 && (f < 4 || uint32(f)+uint32(size) > uint32(t.objLen)) {
		return 0, t.b.fail("table at %d: field %d at %d outside its %d bytes", t.pos, i, f, t.objLen)
	}
	return f, nil
}

// byteField returns field i as a byte (a union's type), 0 when absent.
func (t table) byteField(i int) (byte, error) {
	f, err := t.field(i, 1)
	if f == 0 || err != nil {
		return 0, err
	}
	return t.b.buf[t.pos+uint64(f)], nil
}

// int64Field returns field i as an int64, 0 when absent.
func (t table) int64Field(i int) (int64, error) {
	f, err := t.field(i, 8)
	if f == 0 || err != nil {
		return 0, err
	}
	pos := t.pos + uint64(f)
	if pos+8 > uint64(len(t.b.buf)) {
		return 0, t.b.fail("field %d of the table at %d runs past the metadata", i, t.pos)
	}
	return int64(binary.LittleEndian.Uint64(t.b.buf[pos:])), nil
}

// child returns the table that field i points to; ok is false when the field is absent.
func (t table) child(i int) (table, bool, error) {
	f, err := t.field(i, 4)
	if f == 0 || err != nil {
		return table{}, false, err
	}
	pos, err := t.b.indirect(t.pos + uint64(f))
	if err != nil {
		return table{}, false, err
	}
	c, err := t.b.table(pos)
	return c, err == nil, err
}

// vector checks the vector that field i points to, of elements of elemSize bytes, and returns
// the position of its first element and its length (0, 0 when absent).
func (t table) vector(i int, elemSize uint64) (uint64, uint64, error) {
	f, err := t.field(i, 4)
	if f == 0 || err != nil {
		return 0, 0, err
	}
	pos, err := t.b.indirect(t.pos + uint64(f))
	if err != nil {
		return 0, 0, err
	}
	n, err := t.b.u32(pos)
	if err != nil {
		return 0, 0, err
	}
	start := pos + 4
	if start+uint64(n)*elemSize > uint64(len(t.b.buf)) {
		return 0, 0, t.b.fail("vector at %d of %d elements of %d bytes runs past the %d-byte metadata", pos, n, elemSize, len(t.b.buf))
	}
	if err := t.b.spend(uint64(n)); err != nil {
		return 0, 0, err
	}
	return start, uint64(n), nil
}

// tables checks the vector of tables that field i points to, calling each on every table.
func (t table) tables(i int, each func(table) error) error {
	start, n, err := t.vector(i, 4)
	if err != nil {
		return err
	}
	for j := range n {
		pos, err := t.b.indirect(start + 4*j)
		if err != nil {
			return err
		}
		c, err := t.b.table(pos)
		if err != nil {
			return err
		}
		if err := each(c); err != nil {
			return err
		}
	}
	return nil
}

// keyValues checks a vector of KeyValue tables (key and value strings).
func keyValues(t table, i int) error {
	return t.tables(i, func(kv table) error {
		if _, _, err := kv.vector(0, 1); err != nil {
			return err
		}
		_, _, err := kv.vector(1, 1)
		return err
	})
}

// checkSchema checks a Schema table: fields, custom_metadata, features.
func checkSchema(s table) error {
	if err := s.tables(1, func(f table) error { return checkField(f, 0) }); err != nil {
		return err
	}
	if err := keyValues(s, 2); err != nil {
		return err
	}
	_, _, err := s.vector(3, 8)
	return err
}

// checkField checks a Field table and its children, depth levels down.
func checkField(f table, depth int) error {
	if depth > maxNesting {
		return f.b.fail("fields nested more than %d deep", maxNesting)
	}
	if _, _, err := f.vector(0, 1); err != nil { // name
		return err
	}
	typ, ok, err := f.child(3)
	if err != nil {
		return err
	}
	if ok {
		kind, err := f.byteField(2)
		if err != nil {
			return err
		}
		switch kind {
		case typeTimestamp:
			if _, _, err := typ.vector(1, 1); err != nil {
				return err
			}
		case typeUnion:
			if _, _, err := typ.vector(1, 4); err != nil {
				return err
			}
		}
	}
	if dict, ok, err := f.child(4); err != nil {
		return err
	} else if ok {
		if _, _, err := dict.child(1); err != nil { // indexType
			return err
		}
	}
	if err := f.tables(5, func(c table) error { return checkField(c, depth+1) }); err != nil {
		return err
	}
	return keyValues(f, 6)
}

// checkRecordBatch checks a RecordBatch table: nodes, buffers, compression, variadic counts.
func checkRecordBatch(rb table) error {
	if _, _, err := rb.vector(1, 16); err != nil {
		return err
	}
	if _, _, err := rb.vector(2, 16); err != nil {
		return err
	}
	if _, _, err := rb.child(3); err != nil {
		return err
	}
	_, _, err := rb.vector(4, 8)
	return err
}

// checkMessage checks the flatbuffer of one IPC message and returns its body length.
func checkMessage(buf []byte) (int64, error) {
	b := newFB(buf)
	root, err := b.indirect(0)
	if err != nil {
		return 0, err
	}
	m, err := b.table(root)
	if err != nil {
		return 0, err
	}
	body, err := m.int64Field(3)
	if err != nil {
		return 0, err
	}
	if body < 0 {
		return 0, b.fail("negative body length %d", body)
	}
	if err := keyValues(m, 4); err != nil {
		return 0, err
	}
	header, ok, err := m.child(2)
	if err != nil || !ok {
		if err == nil {
			err = b.fail("message without a header")
		}
		return 0, err
	}
	kind, err := m.byteField(1)
	if err != nil {
		return 0, err
	}
	switch kind {
	case headerSchema:
		err = checkSchema(header)
	case headerRecordBatch:
		err = checkRecordBatch(header)
	case headerDictionaryBatch:
		var data table
		if data, ok, err = header.child(1); err == nil && ok {
			err = checkRecordBatch(data)
		}
	default:
		err = b.fail("message header type %d is not a schema, record batch or dictionary", kind)
	}
	return body, err
}

// CheckStream checks the metadata of every message of the Arrow IPC stream r of size bytes
// (without reading the bodies), before arrow-go's stream reader trusts it.
func CheckStream(r io.ReaderAt, size int64) error {
	var pos int64
	for pos < size {
		var prefix [8]byte
		if _, err := r.ReadAt(prefix[:4], pos); err != nil {
			return fmt.Errorf("%w: message at %d: %v", errCorrupt, pos, err)
		}
		n := binary.LittleEndian.Uint32(prefix[:4])
		pos += 4
		if n == continuation {
			if _, err := r.ReadAt(prefix[4:], pos); err != nil {
				return fmt.Errorf("%w: message at %d: %v", errCorrupt, pos, err)
			}
			n = binary.LittleEndian.Uint32(prefix[4:])
			pos += 4
		}
		if n == 0 {
			return nil // end of stream
		}
		end, err := checkBlock(r, size, pos, int64(n))
		if err != nil {
			return err
		}
		pos = end
	}
	return nil
}

// checkBlock checks the message metadata of length n at pos and returns where its body ends.
func checkBlock(r io.ReaderAt, size, pos, n int64) (int64, error) {
	if n < 4 || n > size-pos {
		return 0, fmt.Errorf("%w: message at %d: metadata of %d bytes in a %d-byte file", errCorrupt, pos, n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, pos); err != nil {
		return 0, fmt.Errorf("%w: message at %d: %v", errCorrupt, pos, err)
	}
	body, err := checkMessage(buf)
	if err != nil {
		return 0, fmt.Errorf("message at %d: %w", pos, err)
	}
	if body > size-pos-n {
		return 0, fmt.Errorf("%w: message at %d: body of %d bytes in a %d-byte file", errCorrupt, pos, body, size)
	}
	return pos + n + body, nil
}

// IsFile reports whether r of size bytes starts and ends with the Arrow IPC file magic.
func IsFile(r io.ReaderAt, size int64) bool {
	if size < int64(2*len(arrowMagic)+4) {
		return false
	}
	head, tail := make([]byte, len(arrowMagic)), make([]byte, len(arrowMagic))
	if _, err := r.ReadAt(head, 0); err != nil {
		return false
	}
	if _, err := r.ReadAt(tail, size-int64(len(arrowMagic))); err != nil {
		return false
	}
	return bytes.Equal(head, arrowMagic) && bytes.Equal(tail, arrowMagic)
}

// CheckFile checks the footer of the Arrow IPC file r of size bytes and the metadata of every
// block it lists (schema, dictionaries, record batches), before arrow-go's file reader trusts
// them. Bodies are not read.
func CheckFile(r io.ReaderAt, size int64) error {
	if !IsFile(r, size) {
		return fmt.Errorf("%w: not an Arrow IPC file (no ARROW1 magic at both ends)", errCorrupt)
	}
	var lenBuf [4]byte
	end := size - int64(len(arrowMagic)) - 4
	if _, err := r.ReadAt(lenBuf[:], end); err != nil {
		return fmt.Errorf("%w: footer length: %v", errCorrupt, err)
	}
	n := int64(binary.LittleEndian.Uint32(lenBuf[:]))
	if n <= 0 || n > end-int64(len(arrowMagic)) {
		return fmt.Errorf("%w: footer of %d bytes in a %d-byte file", errCorrupt, n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, end-n); err != nil {
		return fmt.Errorf("%w: footer: %v", errCorrupt, err)
	}
	b := newFB(buf)
	root, err := b.indirect(0)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	footer, err := b.table(root)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	schema, ok, err := footer.child(1)
	if err == nil && !ok {
		err = b.fail("no schema")
	}
	if err == nil {
		err = checkSchema(schema)
	}
	if err == nil {
		err = keyValues(footer, 4)
	}
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	for _, slot := range []int{2, 3} { // dictionaries, record batches: Block structs of 24 bytes
		start, count, err := footer.vector(slot, 24)
		if err != nil {
			return fmt.Errorf("footer: %w", err)
		}
		for i := range count {
			blk := buf[start+24*i:]
			off := int64(binary.LittleEndian.Uint64(blk))
			meta := int64(int32(binary.LittleEndian.Uint32(blk[8:])))
			if off < 0 || meta < 8 || off > size || meta > size-off {
				return fmt.Errorf("%w: block %d at %d with %d bytes of metadata in a %d-byte file", errCorrupt, i, off, meta, size)
			}
			var prefix [8]byte
			if _, err := r.ReadAt(prefix[:], off); err != nil {
				return fmt.Errorf("%w: block %d: %v", errCorrupt, i, err)
			}
			skip := int64(4)
			if binary.LittleEndian.Uint32(prefix[:4]) == continuation {
				skip = 8
			}
			if _, err := checkBlock(r, size, off+skip, meta-skip); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return nil
}
