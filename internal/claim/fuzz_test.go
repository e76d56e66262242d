package claim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzParseOwner feeds mutated lock files to parseOwner, which reads what other processes (or
// anything else that can write the shared folder) left there: it must never panic, an owner it
// accepts must name a printable host and a pid in range, and what it accepts must survive a
// write and a read.
func FuzzParseOwner(f *testing.F) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, o := range []Owner{
		{Host: "node3", PID: 4121, Token: "0123456789abcdef0123456789abcdef", Since: since},
		{Host: "gpu-01.cluster.example.org", PID: math.MaxInt32, Token: "x", Since: since},
	} {
		data, err := json.Marshal(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2]) // a file still being written
	}
	for _, s := range []string{
		"", "{}", "null", `{"host":"a\nb","pid":1}`, `{"host":"h","pid":-1}`,
		`{"host":"h","pid":18446744073709551615}`, `{"host":"h","pid":4294967297}`,
		`{"host":"\u001b[31mred","pid":1}`, `{"host":"h","pid":1,"since":"not a time"}`,
		`[` + strings.Repeat(`[`, 1000) + `]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := parseOwner(data)
		if err != nil {
			if o != (Owner{}) {
				t.Fatalf("an error (%v) with an owner %+v", err, o)
			}
			return
		}
		if o.Host == "" {
			if o.PID != 0 {
				t.Fatalf("an owner without a host, with a pid: %+v", o)
			}
			return
		}
		if o.PID <= 0 || o.PID > math.MaxInt32 {
			t.Fatalf("pid %d out of range", o.PID)
		}
		if hostName(o.Host) != o.Host {
			t.Fatalf("host %q is not a host name", o.Host)
		}
		for _, r := range o.String() {
			if !unicode.IsPrint(r) {
				t.Fatalf("owner %q has an unprintable character", o.String())
			}
		}
		again, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseOwner(again)
		if err != nil || back.Host != o.Host || back.PID != o.PID || back.Token != o.Token || !back.Since.Equal(o.Since) {
			t.Fatalf("%+v does not read back: %+v, %v", o, back, err)
		}
	})
}

// TestReadOwnerBounded checks that a huge lock file is read only up to maxOwnerBytes and counts
// as an unknown owner, and that a foreign host is refused.
func TestReadOwnerBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.lock")
	data := `{"host":"h","pid":1,"token":"` + strings.Repeat("x", 10<<20) + `"}`
	if err := os.WriteFile(big, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := readOwner(big)
	if err != nil || o != (Owner{}) {
		t.Errorf("a 10 MB lock file reads as %+v, %v; want an unknown owner", o, err)
	}
	for _, s := range []string{`{"host":"a\nb","pid":1}`, `{"host":"h","pid":4294967297}`, `{"host":"h","pid":0}`} {
		if o, err := parseOwner([]byte(s)); err == nil {
			t.Errorf("%s parses as %+v", s, o)
		}
	}
	if got := hostName("a b\nc\x00" + strings.Repeat("é", 200)); len(got) > maxHostBytes || strings.ContainsAny(got, " \n\x00") {
		t.Errorf("hostName gives %q", got)
	}
}

// TestOwnHostNormalized checks that a lock taken under a host name parseOwner would refuse (a
// space, a line break) is written under its normalized form, so that the holder still
// recognizes its own lock, and that the holder is named as written.
func TestOwnHostNormalized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := TryAcquire(path, Options{Host: "my host\nx"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = TryAcquire(path, Options{Host: "other"})
	if err == nil || !strings.Contains(err.Error(), "my_host_x pid ") {
		t.Errorf("second TryAcquire: %v, want it held by my_host_x", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
}
