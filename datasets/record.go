package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/sftlab/sftlab/tokenizer"
)

// Record is one training example before formatting: either alpaca-shaped (Instruction, Input,
// Output) or chat-shaped (Messages non-empty). Task is an optional label, such as "摘要", used
// for stratified splits and display.
type Record struct {
	Task        string
	Instruction string
	Input       string
	Output      string
	Messages    []tokenizer.Message
}

// Message roles accepted in chat records.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// IsChat reports whether r is chat-shaped.
func (r Record) IsChat() bool { return len(r.Messages) > 0 }

// ChatMessages returns r as chat messages. A chat record returns its own messages. An alpaca
// record becomes one user turn and one assistant turn, with no system message: the user content is
// Instruction + "\n" + Input (just Instruction when Input is empty, just Input when Instruction is
// empty) and the assistant content is Output.
func (r Record) ChatMessages() []tokenizer.Message {
	if r.IsChat() {
		return r.Messages
	}
	user := r.Instruction
	switch {
	case r.Input == "":
	case user == "":
		user = r.Input
	default:
		user += "\n" + r.Input
	}
	return []tokenizer.Message{{Role: RoleUser, Content: user}, {Role: RoleAssistant, Content: r.Output}}
}

// Alpaca returns r's instruction, input and output. An alpaca record returns its own fields. A
// chat record keeps only its last exchange: input is the content of the last user message before
// the final assistant message, output is the final assistant message, and instruction is the
// system prompt when the conversation opens with one (empty otherwise). Earlier turns are dropped.
func (r Record) Alpaca() (instruction, input, output string) {
	if !r.IsChat() {
		return r.Instruction, r.Input, r.Output
	}
	msgs := r.Messages
	if msgs[0].Role == RoleSystem {
		instruction = msgs[0].Content
	}
	last := len(msgs) - 1
	for last >= 0 && msgs[last].Role != RoleAssistant {
		last--
	}
	if last < 0 {
		return instruction, "", ""
	}
	output = msgs[last].Content
	for i := last - 1; i >= 0; i-- {
		if msgs[i].Role == RoleUser {
			input = msgs[i].Content
			break
		}
	}
	return instruction, input, output
}

// canonicalRecord is the JSON form of a Record used by Hash and by the preview's JSON output.
type canonicalRecord struct {
	Task        string             `json:"task"`
	Instruction string             `json:"instruction"`
	Input       string             `json:"input"`
	Output      string             `json:"output"`
	Messages    []canonicalMessage `json:"messages"`
}

type canonicalMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Hash returns the hex sha256 of recs in a canonical form (one JSON object per record, fields in
// a fixed order, newline-terminated), so the same records give the same hash whatever file format
// they were loaded from.
func Hash(recs []Record) string {
	h := sha256.New()
	for _, r := range recs {
		c := canonicalRecord{Task: r.Task, Instruction: r.Instruction, Input: r.Input, Output: r.Output,
			Messages: []canonicalMessage{}}
		for _, m := range r.Messages {
			c.Messages = append(c.Messages, canonicalMessage{Role: m.Role, Content: m.Content})
		}
		b, err := json.Marshal(c)
		if err != nil {
			// Marshal of strings only cannot fail.
			panic(fmt.Sprintf("datasets: hash record: %v", err))
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
