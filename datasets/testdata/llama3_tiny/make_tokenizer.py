"""Writes tokenizer.json and tokenizer_config.json of the llama3_tiny test tokenizer."""
import json


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: byte -> printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


b2u = bytes_to_unicode()
vocab = {b2u[b]: b for b in range(256)}


def sym(s):
    return "".join(b2u[b] for b in s.encode())


merges = []


def merge(a, b):
    merges.append([a, b])
    vocab[a + b] = len(vocab)


# "回答" and "：" become single tokens.
for word in ["回", "答", "：", "问", "题"]:
    s = sym(word)  # three byte symbols
    merge(s[0], s[1])
    merge(s[0] + s[1], s[2])
merge(sym("回"), sym("答"))
merge(sym("问"), sym("题"))
pattern = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
n = len(vocab)
special = dict(single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
added = [
    {"id": n, "content": "<|begin_of_text|>", **special},
    {"id": n + 1, "content": "<|end_of_text|>", **special},
    {"id": n + 2, "content": "<|eot_id|>", **special},
]
bos = {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}
tok = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "post_processor": {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [n], "tokens": ["<|begin_of_text|>"]}}}]},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
              "fuse_unk": False, "byte_fallback": False, "ignore_merges": True, "vocab": vocab, "merges": merges},
}
with open("tokenizer.json", "w") as f:
    json.dump(tok, f, ensure_ascii=False, indent=1)
cfg = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "pad_token": None,
       "clean_up_tokenization_spaces": True, "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"}
with open("tokenizer_config.json", "w") as f:
    json.dump(cfg, f, indent=1)
