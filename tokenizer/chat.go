package tokenizer

import "strings"

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`    // "system", "user", "assistant" or "tool"
	Content string `json:"content"` // the text of the turn
}

// RenderChat renders msgs as Qwen3's chat template (the chat_template of tokenizer_config.json)
// does with enable_thinking=false and no tools, byte for byte: ChatML turns, the assistant turns
// after the last user query carrying a <think> block (an empty one, `<think>\n\n</think>\n\n`,
// when the content has none), a reasoning block split out of earlier assistant turns, and, when
// addGenerationPrompt is set, the opening of an assistant turn with an empty <think> block.
// As in the template, a leading system message opens the conversation, a system message
// elsewhere renders as its own turn, and messages with another role are left out.
func (t *Tokenizer) RenderChat(msgs []Message, addGenerationPrompt bool) string {
	return renderQwen3Chat(msgs, addGenerationPrompt)
}

// renderQwen3Chat follows the template statement by statement.
func renderQwen3Chat(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	if len(msgs) > 0 && msgs[0].Role == "system" {
		b.WriteString("<|im_start|>system\n" + msgs[0].Content + "<|im_end|>\n")
	}
	// The last user message that is not a wrapped tool response.
	lastQuery := len(msgs) - 1
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Role == "user" && !(strings.HasPrefix(m.Content, "<tool_response>") && strings.HasSuffix(m.Content, "</tool_response>")) {
			lastQuery = i
			break
		}
	}
	for i, m := range msgs {
		last := i == len(msgs)-1
		switch {
		case m.Role == "user" || (m.Role == "system" && i > 0):
			b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
		case m.Role == "assistant":
			content, reasoning := m.Content, ""
			if strings.Contains(content, "</think>") {
				parts := strings.Split(m.Content, "</think>")
				content = strings.TrimLeft(parts[len(parts)-1], "\n")
				before := strings.Split(strings.TrimRight(parts[0], "\n"), "<think>")
				reasoning = strings.TrimLeft(before[len(before)-1], "\n")
			}
			if i > lastQuery && (last || reasoning != "") {
				b.WriteString("<|im_start|>assistant\n<think>\n" + strings.Trim(reasoning, "\n") +
					"\n</think>\n\n" + strings.TrimLeft(content, "\n"))
			} else {
				b.WriteString("<|im_start|>assistant\n" + content)
			}
			b.WriteString("<|im_end|>\n")
		case m.Role == "tool":
			if i == 0 || msgs[i-1].Role != "tool" {
				b.WriteString("<|im_start|>user")
			}
			b.WriteString("\n<tool_response>\n" + m.Content + "\n</tool_response>")
			if last || msgs[i+1].Role != "tool" {
				b.WriteString("<|im_end|>\n")
			}
		}
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n<think>\n\n</think>\n\n")
	}
	return b.String()
}
