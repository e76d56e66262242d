#!/usr/bin/env python3
"""Builds the tiny random Qwen3 fixtures and their reference logits with an independent float64
NumPy implementation of Qwen3's forward pass (written from the semantics of Hugging Face's
transformers/models/qwen3/modeling_qwen3.py; it does not use transformers).

Usage (from this directory): python3 make_fixture.py
Writes tiny/ (tied embeddings) and tiny_untied/: config.json, model.safetensors, logits.json.
"""
import json
import os
import struct

import numpy as np

SEED = 20251127
TOKENS = 16        # length of the scored token sequence
PROMPT = 6         # greedy generation: prompt length
NEW_TOKENS = 10    # greedy generation: tokens to generate


def config(tied):
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.1,
        "intermediate_size": 128,
        "max_position_embeddings": 128,
        "max_window_layers": 2,
        "model_type": "qwen3",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 512,
    }


def make_weights(cfg, rng):
    """Random weights in Hugging Face's names and layouts (Linear weights are [out, in])."""
    std = cfg["initializer_range"]
    h, i, d = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"]
    nh, nkv, v = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    normal = lambda *shape: rng.normal(0.0, std, size=shape).astype(np.float32)
    gain = lambda n: (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)
    w = {"model.embed_tokens.weight": normal(v, h)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = gain(h)
        w[p + "self_attn.q_proj.weight"] = normal(nh * d, h)
        w[p + "self_attn.k_proj.weight"] = normal(nkv * d, h)
        w[p + "self_attn.v_proj.weight"] = normal(nkv * d, h)
        w[p + "self_attn.o_proj.weight"] = normal(h, nh * d)
        w[p + "self_attn.q_norm.weight"] = gain(d)
        w[p + "self_attn.k_norm.weight"] = gain(d)
        w[p + "post_attention_layernorm.weight"] = gain(h)
        w[p + "mlp.gate_proj.weight"] = normal(i, h)
        w[p + "mlp.up_proj.weight"] = normal(i, h)
        w[p + "mlp.down_proj.weight"] = normal(h, i)
    w["model.norm.weight"] = gain(h)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = normal(v, h)
    return w


def write_safetensors(path, tensors):
    """A minimal safetensors writer (F32 only), independent of the Go one."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


# ---- the reference forward pass, float64 -------------------------------------------------

def rms_norm(x, weight, eps):
    # Qwen3RMSNorm: x * rsqrt(mean(x^2) + eps), then weight * x.
    var = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(var + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def rope(head_dim, theta, positions):
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = np.outer(positions.astype(np.float64), inv_freq)       # [T, D/2]
    emb = np.concatenate([freqs, freqs], axis=-1)                   # [T, D]
    return np.cos(emb), np.sin(emb)


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(cfg, w, ids):
    """Logits [T, V] for one sequence of token ids."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    eps, d = cfg["rms_norm_eps"], cfg["head_dim"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    groups = nh // nkv
    t = len(ids)
    x = w["model.embed_tokens.weight"][np.asarray(ids)]               # [T, H]
    cos, sin = rope(d, cfg["rope_theta"], np.arange(t))
    causal = np.tril(np.ones((t, t), dtype=bool))
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(t, nh, d)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(t, nkv, d)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(t, nkv, d)
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        out = np.zeros((t, nh, d))
        for head in range(nh):
            kv = head // groups                                        # repeat_kv
            scores = (q[:, head, :] @ k[:, kv, :].T) / np.sqrt(d)      # [T, T]
            scores = np.where(causal, scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            out[:, head, :] = probs @ v[:, kv, :]
        x = x + out.reshape(t, nh * d) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        mlp = silu(h @ w[p + "mlp.gate_proj.weight"].T) * (h @ w[p + "mlp.up_proj.weight"].T)
        x = x + mlp @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def loss(logits, ids):
    """Mean next-token cross-entropy, as Qwen3ForCausalLM(input_ids, labels=input_ids)."""
    z = logits[:-1]
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(ids) - 1), ids[1:]]))


def greedy(cfg, w, prompt, n):
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(np.argmax(forward(cfg, w, ids)[-1])))
    return ids[len(prompt):]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, tied, seed in (("tiny", True, SEED), ("tiny_untied", False, SEED + 1)):
        rng = np.random.default_rng(seed)
        cfg = config(tied)
        w = make_weights(cfg, rng)
        ids = rng.integers(0, cfg["vocab_size"], size=TOKENS)
        logits = forward(cfg, w, ids)
        out = os.path.join(here, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        write_safetensors(os.path.join(out, "model.safetensors"), w)
        ref = {
            "source": "independent float64 NumPy implementation (make_fixture.py), not transformers",
            "input_ids": [int(i) for i in ids],
            "loss": loss(logits, ids),
            "logits": [[float(f"{v:.8g}") for v in row] for row in logits],
            "greedy_prompt": [int(i) for i in ids[:PROMPT]],
            "greedy_new_tokens": greedy(cfg, w, ids[:PROMPT], NEW_TOKENS),
        }
        with open(os.path.join(out, "logits.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
            f.write("\n")
        print(name, "loss", ref["loss"], "greedy", ref["greedy_new_tokens"])


if __name__ == "__main__":
    main()
