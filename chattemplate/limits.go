package chattemplate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// The limits a chat template runs under. A model directory is input like any other: its
// template may loop for ever, recurse without end or build strings of any size, and gonja
// bounds none of it, so each is bounded here and a template that reaches a limit fails with a
// [LimitError] naming the limit and the file. The real templates of testdata/ stay far below
// every one of them.
const (
	// maxNesting bounds how deeply brackets and blocks nest in the source: gonja's parser
	// recurses once per level.
	maxNesting = 100
	// maxTreeDepth bounds the depth of the parsed template (long operator chains nest one level
	// per operator), which gonja's evaluator recurses through.
	maxTreeDepth = 1000
	// maxOutputBytes bounds a rendering, and any string or output buffer a template builds on
	// the way (a macro's output, the operand of ~, a filter's result).
	maxOutputBytes = 4 << 20
	// maxItems bounds the length of a list a template builds (range, +, a filter's result).
	maxItems = 1 << 16
	// maxSteps bounds the statements one rendering executes (a loop's body counts once per
	// pass), and the filter calls and operators it evaluates.
	maxSteps = 1 << 18
	// maxWork bounds the bytes of the strings and the items of the lists that one rendering's
	// operators, filters and methods build, and the bytes it writes.
	maxWork = 64 << 20
	// maxDepth bounds how deeply blocks, loops and macro calls nest while rendering, which is
	// also how deeply a macro may recurse.
	maxDepth = 256
	// maxValueDepth bounds how deeply a list or mapping may nest when a statement stores one
	// into another (set ns.x = ..., list.append, dict.update): nothing can come to contain
	// itself, and printing or comparing a value recurses a bounded number of levels.
	maxValueDepth = 64
	// maxRenderTime is a backstop for work the other limits do not count.
	maxRenderTime = 10 * time.Second
)

// MaxSourceBytes bounds a template's source: the largest real ones are a few tens of KiB.
const MaxSourceBytes = 256 << 10

// LimitError says that a template reached one of the limits it runs under.
type LimitError struct {
	Limit string // what is bounded, with the bound: "output of 4194304 bytes"
}

// Error names the limit.
func (e *LimitError) Error() string { return "the chat template exceeds its limit: " + e.Limit }

// budget is the account of one rendering, kept in its context under budgetKey.
type budget struct {
	steps    int
	work     int
	depth    int
	deadline time.Time
	exceeded *LimitError // sticky: once a limit is reached, everything after fails
}

// budgetKey names the budget in a rendering's context; it is no identifier, so a template
// cannot read or replace it.
const budgetKey = "sftlab budget"

// newBudget returns the account of a rendering that starts now.
func newBudget() *budget { return &budget{deadline: time.Now().Add(maxRenderTime)} }

// budgetOf returns the budget of the rendering that ctx belongs to, nil outside one.
func budgetOf(ctx *exec.Context) *budget {
	if ctx == nil {
		return nil
	}
	v, ok := ctx.Get(budgetKey)
	if !ok {
		return nil
	}
	b, _ := v.(*budget)
	return b
}

// exceed records that limit was reached and returns the error.
func (b *budget) exceed(format string, args ...any) error {
	if b.exceeded == nil {
		b.exceeded = &LimitError{Limit: fmt.Sprintf(format, args...)}
	}
	return b.exceeded
}

// step counts one statement, filter call or operator, failing past maxSteps or maxRenderTime.
func (b *budget) step() error {
	if b.exceeded != nil {
		return b.exceeded
	}
	b.steps++
	if b.steps > maxSteps {
		return b.exceed("%d statements, filter calls and operators", maxSteps)
	}
	if b.steps&0xff == 0 && time.Now().After(b.deadline) {
		return b.exceed("rendering time of %s", maxRenderTime)
	}
	return nil
}

// charge adds n bytes or items built, failing past maxWork.
func (b *budget) charge(n int) error {
	if b.exceeded != nil {
		return b.exceeded
	}
	if n < 0 || n > maxWork-b.work {
		return b.exceed("%d bytes and items built", maxWork)
	}
	b.work += n
	return nil
}

// checkString fails when a template would build a string of n bytes.
func (b *budget) checkString(n int) error {
	if n > maxOutputBytes {
		return b.exceed("string of %d bytes", maxOutputBytes)
	}
	return b.charge(n)
}

// checkList fails when a template would build a list of n items.
func (b *budget) checkList(n int) error {
	if n > maxItems {
		return b.exceed("list of %d items", maxItems)
	}
	return b.charge(n)
}

// checkValue checks a value an operator, filter or method built: its size, and that it is
// not an error of the budget's that the template swallowed.
func (b *budget) checkValue(v *exec.Value) error {
	if b.exceeded != nil {
		return b.exceeded
	}
	switch {
	case v == nil || v.IsError():
		return nil
	case v.IsString():
		return b.checkString(len(v.String()))
	case v.IsList() || v.IsDict():
		return b.checkList(v.Len())
	}
	return b.charge(1)
}

// limitWriter is the writer a rendering writes to: it fails past maxOutputBytes. It offers
// Write only (no WriteString), so every write goes through the check.
type limitWriter struct {
	out strings.Builder
	b   *budget
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > maxOutputBytes-w.out.Len() {
		return 0, w.b.exceed("output of %d bytes", maxOutputBytes)
	}
	if err := w.b.charge(len(p)); err != nil {
		return 0, err
	}
	return w.out.Write(p)
}

// Len returns the bytes written so far.
func (w *limitWriter) Len() int { return w.out.Len() }

// errLimit is what asLimitError finds in an error chain that reached a limit.
func asLimitError(err error) (*LimitError, bool) {
	var le *LimitError
	ok := errors.As(err, &le)
	return le, ok
}
