#!/usr/bin/env python3
"""Builds the tiny random Llama and Qwen2 fixtures (llama/, llama_bias/, qwen2/) and asks an
independent PyTorch implementation for their reference logits and greedy continuations; then a
PEFT LoRA adapter for qwen2/ (qwen2_lora/) whose reference logits are those of the base with the
adapter merged in (W + (lora_alpha/r)·B·A, computed here in float64).

The weights are drawn here with NumPy and written with a minimal safetensors writer (not the Go
one). The reference numbers come from the PyTorch peer of the sftlab repository's shared
material, peer_torch_qwen3.py, which loads qwen3, qwen2 and llama directories in plain PyTorch
(no transformers) and computes in float64:

    python3 make_family_fixtures.py --peer /path/to/peer_torch_qwen3.py

(it runs `PEER logits --model DIR --ids ...` and `PEER greedy ...` with /usr/bin/python3, which
needs torch). Writes, per fixture, config.json, model.safetensors and logits.json in the format
of make_fixture.py's.
"""
import argparse
import json
import os
import struct
import subprocess

import numpy as np

SEED = 20260112
TOKENS = 16        # length of the scored token sequence
PROMPT = 6         # greedy generation: prompt length
NEW_TOKENS = 10    # greedy generation: tokens to generate

COMMON = {
    "attention_dropout": 0.0,
    "hidden_act": "silu",
    "hidden_size": 64,
    "initializer_range": 0.1,
    "intermediate_size": 128,
    "max_position_embeddings": 256,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "torch_dtype": "float32",
    "use_cache": True,
    "vocab_size": 512,
}

FIXTURES = {
    # Llama 3.2-style: llama3 rope scaling (scaled so that 16 positions feel all three bands:
    # wavelengths below 16 kept, above 64 divided by 8, between interpolated), tied embeddings,
    # no head_dim key (hidden_size / num_attention_heads).
    "llama": dict(COMMON, **{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": False,
        "mlp_bias": False, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "tie_word_embeddings": True, "bos_token_id": 0, "eos_token_id": 1,
    }),
    # A Llama with attention_bias (bias on q, k, v and o), untied head, no rope scaling.
    "llama_bias": dict(COMMON, **{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": True,
        "mlp_bias": False, "head_dim": 16, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
        "rope_scaling": None, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 1,
    }),
    # Qwen2/Qwen2.5: bias on q, k, v (never on o), no q/k norm, untied head.
    "qwen2": dict(COMMON, **{
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0, "rope_scaling": None, "tie_word_embeddings": False,
        "use_sliding_window": False, "sliding_window": 256, "max_window_layers": 2,
        "bos_token_id": 151643, "eos_token_id": 151645,
    }),
}


def make_weights(cfg, rng):
    """Random weights in Hugging Face's names and layouts (Linear weights are [out, in])."""
    std = cfg["initializer_range"]
    h, i = cfg["hidden_size"], cfg["intermediate_size"]
    d = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    nh, nkv, v = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    normal = lambda *shape: rng.normal(0.0, std, size=shape).astype(np.float32)
    gain = lambda n: (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias")
    w = {"model.embed_tokens.weight": normal(v, h)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = gain(h)
        w[p + "self_attn.q_proj.weight"] = normal(nh * d, h)
        w[p + "self_attn.k_proj.weight"] = normal(nkv * d, h)
        w[p + "self_attn.v_proj.weight"] = normal(nkv * d, h)
        w[p + "self_attn.o_proj.weight"] = normal(h, nh * d)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = normal(nh * d)
            w[p + "self_attn.k_proj.bias"] = normal(nkv * d)
            w[p + "self_attn.v_proj.bias"] = normal(nkv * d)
        if cfg.get("attention_bias"):
            w[p + "self_attn.o_proj.bias"] = normal(h)
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


def peer(args, *cmd):
    out = subprocess.run(["/usr/bin/python3", args.peer, *cmd], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def loss(logits, ids):
    """Mean next-token cross-entropy, as ForCausalLM(input_ids, labels=input_ids)."""
    z = logits[:-1]
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(ids) - 1), ids[1:]]))


LORA = {"r": 4, "lora_alpha": 8.0, "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}


def read_safetensors(path):
    """F32 tensors of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name != "__metadata__":
            a, b = h["data_offsets"]
            out[name] = np.frombuffer(data[a:b], "<f4").reshape(h["shape"])
    return out


def make_lora(args, here, base_name, ids):
    """qwen2_lora/: a PEFT adapter on base_name with random A and B, and reference logits of the
    merged model."""
    import tempfile
    base_dir = os.path.join(here, base_name)
    cfg = json.load(open(os.path.join(base_dir, "config.json")))
    w = read_safetensors(os.path.join(base_dir, "model.safetensors"))
    rng = np.random.default_rng(SEED + 100)
    r, scale = LORA["r"], LORA["lora_alpha"] / LORA["r"]
    adapter, merged = {}, {k: v.astype(np.float64) for k, v in w.items()}
    for l in range(cfg["num_hidden_layers"]):
        for mod in LORA["targets"]:
            part = "mlp" if mod in ("gate_proj", "up_proj", "down_proj") else "self_attn"
            name = f"model.layers.{l}.{part}.{mod}"
            out_dim, in_dim = w[name + ".weight"].shape
            a = rng.uniform(-1, 1, size=(r, in_dim)).astype(np.float32) / np.sqrt(in_dim)
            b = (0.05 * rng.standard_normal((out_dim, r))).astype(np.float32)
            adapter["base_model.model." + name + ".lora_A.weight"] = a
            adapter["base_model.model." + name + ".lora_B.weight"] = b
            merged[name + ".weight"] += scale * (b.astype(np.float64) @ a.astype(np.float64))
    out = os.path.join(here, base_name + "_lora")
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), adapter)
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_name,
                   "r": r, "lora_alpha": LORA["lora_alpha"], "lora_dropout": 0.0, "bias": "none",
                   "target_modules": sorted(LORA["targets"]), "fan_in_fan_out": False, "inference_mode": True,
                   "init_lora_weights": True, "use_dora": False, "use_rslora": False, "modules_to_save": None,
                   "layers_to_transform": None, "rank_pattern": {}, "alpha_pattern": {}}, f, indent=2, sort_keys=True)
        f.write("\n")
    with tempfile.TemporaryDirectory() as tmp:
        write_safetensors(os.path.join(tmp, "model.safetensors"), merged)  # float32, as the peer reads it
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(cfg, f)
        logits = np.array(peer(args, "logits", "--model", tmp, "--ids", ",".join(str(int(i)) for i in ids))["logits"])
    ref = {
        "source": "peer_torch_qwen3.py (float64) on the base with the adapter merged in float64, rounded to float32",
        "input_ids": [int(i) for i in ids],
        "loss": loss(logits, ids),
        "logits": [[float(f"{v:.10g}") for v in row] for row in logits],
    }
    with open(os.path.join(out, "logits.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print(base_name + "_lora", "loss", ref["loss"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, help="path of peer_torch_qwen3.py")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    for n, (name, cfg) in enumerate(sorted(FIXTURES.items())):
        rng = np.random.default_rng(SEED + n)
        w = make_weights(cfg, rng)
        ids = rng.integers(0, cfg["vocab_size"], size=TOKENS)
        out = os.path.join(here, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        write_safetensors(os.path.join(out, "model.safetensors"), w)
        ref_logits = peer(args, "logits", "--model", out, "--ids", ",".join(str(int(i)) for i in ids))
        assert ref_logits["dtype"] == "float64"
        logits = np.array(ref_logits["logits"])
        greedy = peer(args, "greedy", "--model", out, "--ids", ",".join(str(int(i)) for i in ids[:PROMPT]),
                      "--new_tokens", str(NEW_TOKENS))
        ref = {
            "source": "peer_torch_qwen3.py (plain PyTorch, float64), an implementation independent of sftlab's",
            "input_ids": [int(i) for i in ids],
            "loss": loss(logits, ids),
            "logits": [[float(f"{v:.10g}") for v in row] for row in logits],
            "greedy_prompt": [int(i) for i in ids[:PROMPT]],
            "greedy_new_tokens": greedy["new_ids"],
        }
        with open(os.path.join(out, "logits.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
            f.write("\n")
        print(name, "loss", ref["loss"], "greedy", ref["greedy_new_tokens"])
        if name == "qwen2":
            make_lora(args, here, name, ids)


if __name__ == "__main__":
    main()
