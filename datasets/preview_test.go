package datasets

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "update golden files")

// ansiEscape matches an ANSI SGR escape sequence.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// golden compares got with testdata/NAME, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestWritePreview(t *testing.T) {
	tok := loadTokenizer(t)
	opts := EncodeOptions{Format: FormatInstruction, Masking: MaskCompletionOnly, MaxLength: 512}
	exs, st, err := EncodeAll(tok, alpacaRecs, opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		color bool
	}{
		{"plain", false},
		{"color", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePreview(&buf, tok, exs[:1], PreviewOptions{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			if err := WriteStats(&buf, st, opts.MaxLength); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := strings.Contains(out, "\x1b["); got != tt.color {
				t.Errorf("ANSI escapes present = %v, want %v", got, tt.color)
			}
			var trained, masked int
			for line := range strings.SplitSeq(ansiEscape.ReplaceAllString(out, ""), "\n") {
				fields := strings.Fields(line)
				if len(fields) < 3 {
					continue
				}
				switch fields[2] {
				case markTrained:
					trained++
				case markMasked:
					masked++
				}
			}
			if trained != exs[0].Trained() || masked != exs[0].Masked() {
				t.Errorf("markers: %d trained, %d masked; want %d, %d", trained, masked, exs[0].Trained(), exs[0].Masked())
			}
			golden(t, "preview_instruction_"+tt.name+".golden", buf.Bytes())
		})
	}
}
