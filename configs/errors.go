package configs

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is and what is wrong.
type Problem struct {
	// File is the file the offending value came from, "--set" for a command-line override,
	// or "" when unknown (a Config validated on its own).
	File string
	// Line is the 1-based line in File, or 0.
	Line int
	// Key is the dotted key path, e.g. "train.learning_rate".
	Key string
	// Msg says what is wrong and, where it can, how to fix it.
	Msg string

	path []string // Key split into segments (map keys such as sweep.grid's may contain dots)
}

// Error formats the problem as "file:line: key: msg" ("--set key: msg" for an override).
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File == setFile:
		b.WriteString("--set ")
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ErrorList is every problem found in a configuration, reported together. Load and Validate
// return it (as an error) when they find any problem.
type ErrorList []Problem

// Error lists the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, p := range l {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// sorted returns the problems without duplicates, ordered by file, line, key and message.
func (l ErrorList) sorted() ErrorList {
	out := slices.Clone(l)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Key, b.Key), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(out, func(a, b Problem) bool { return a.Error() == b.Error() })
}

// add appends a problem about the key at path.
func (l *ErrorList) add(path []string, format string, args ...any) {
	*l = append(*l, Problem{Key: joinPath(path), Msg: fmt.Sprintf(format, args...), path: path})
}

// joinPath renders a key path for messages.
func joinPath(path []string) string { return strings.Join(path, ".") }
