"""Exports a BERT-base-shaped classifier with random weights, for the scorer's overhead benchmark.

    /usr/bin/python3 bert_base_shaped.py REPO_DIR OUT_DIR

12 layers, hidden 768, 12 heads, FFN 3072, bert-base-uncased's WordPiece vocabulary
(tokenize/testdata/bert-wordpiece), 512 positions: the shape of the BERT models this field
fine-tunes, about 110M parameters (a 440 MB model.onnx, not committed). No training: the
benchmark measures time, not quality. Then:

    TWEETFLOW_OVERHEAD_MODEL=OUT_DIR GOMAXPROCS=1 go test -run '^$' -bench TransformerOverhead ./scorer/
"""
import importlib.util
import json
import os
import shutil
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("build", os.path.join(here, "build.py"))
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)
build.HIDDEN, build.LAYERS, build.HEADS, build.FFN = 768, 12, 12, 3072

repo, out = sys.argv[1], sys.argv[2]
tok_dir = os.path.join(repo, "tokenize", "testdata", "bert-wordpiece")
with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
    vocab = json.load(f)["model"]["vocab"]
torch.manual_seed(1)
model = build.Classifier(max(vocab.values()) + 1, 512, False, vocab["[PAD]"]).eval()
os.makedirs(out, exist_ok=True)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"model_type": "bert", "max_position_embeddings": 512, "vocab_size": max(vocab.values()) + 1,
               "pad_token_id": vocab["[PAD]"], "hidden_size": 768, "num_hidden_layers": 12,
               "id2label": {str(i): l for i, l in enumerate(build.LABELS)}}, f)
ids, mask = build.pad_batch([[101, 2000, 102], [101, 102]], 0)
names = ["input_ids", "attention_mask", "token_type_ids"]
dyn = {n: {0: "batch", 1: "sequence"} for n in names}
dyn["logits"] = {0: "batch"}
torch.onnx.export(model, (ids, mask, torch.zeros_like(ids)), os.path.join(out, "model.onnx"), input_names=names,
                  output_names=["logits"], dynamic_axes=dyn, opset_version=14, do_constant_folding=True)
print(f"wrote {out}", file=sys.stderr)
