#!/usr/bin/env python3
"""Regenerates the tiny Qwen3 fixtures and their reference logits with Hugging Face transformers.

Needs torch, transformers (with Qwen3, ≥ 4.51) and safetensors. Run from this directory:

    python3 make_fixture_transformers.py

It builds Qwen3ForCausalLM(Qwen3Config(...)) with a fixed seed for tiny/ (tied embeddings) and
tiny_untied/, perturbs the RMSNorm gains (so that they are exercised: transformers initialises
them to ones), saves each with save_pretrained (config.json, model.safetensors) and writes
logits.json in the format the Go tests read: input_ids, logits [T][V] (float32 forward), loss
(labels = input_ids) and a greedy continuation of the first 6 tokens.
"""
import json
import os

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

TOKENS, PROMPT, NEW_TOKENS = 16, 6, 10


def build(tied, seed):
    torch.manual_seed(seed)
    cfg = Qwen3Config(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=128,
        max_window_layers=2,
        rms_norm_eps=1e-6,
        rope_theta=1000000.0,
        initializer_range=0.1,
        tie_word_embeddings=tied,
        torch_dtype="float32",
        attn_implementation="eager",
    )
    model = Qwen3ForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    return model


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, tied, seed in (("tiny", True, 20251127), ("tiny_untied", False, 20251128)):
        model = build(tied, seed)
        gen = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, 512, (1, TOKENS), generator=gen)
        with torch.no_grad():
            out = model(input_ids=ids, labels=ids)
            prompt = ids[:, :PROMPT]
            greedy = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                    max_new_tokens=NEW_TOKENS, do_sample=False,
                                    eos_token_id=None, pad_token_id=0, min_new_tokens=NEW_TOKENS)
        target = os.path.join(here, name)
        model.save_pretrained(target, safe_serialization=True)
        ref = {
            "source": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}",
            "input_ids": ids[0].tolist(),
            "loss": out.loss.item(),
            "logits": [[float(f"{v:.8g}") for v in row] for row in out.logits[0].double().tolist()],
            "greedy_prompt": ids[0, :PROMPT].tolist(),
            "greedy_new_tokens": greedy[0, PROMPT:].tolist(),
        }
        with open(os.path.join(target, "logits.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
            f.write("\n")
        print(name, "loss", ref["loss"], "greedy", ref["greedy_new_tokens"])


if __name__ == "__main__":
    main()
