"""Builds tweetflow's test models and their reference outputs.

    /usr/bin/python3 build.py DATA_DIR REPO_DIR

Writes under REPO_DIR/scorer/testdata/:
  tiny-bert-sentiment/     a 2-layer BERT-style classifier (WordPiece, token_type_ids input),
                           Hugging Face layout: config.json, tokenizer.json, tokenizer_config.json,
                           model.onnx
  tiny-roberta-sentiment/  a 2-layer RoBERTa-style classifier (byte-level BPE, positions from
                           pad_token_id+1, no token_type_ids), transformers.js layout:
                           onnx/model.onnx
  tfidf-sentiment/         a string-input pipeline (lowercase, [a-z0-9]+ tokens, word 1-2-gram
                           TF-IDF, L2 norm, multinomial logistic regression) as skl2onnx builds
                           one, with a model.yaml (kind text)
  <name>.goldens.jsonl.gz  the reference probabilities for every text of
                           tokenize/testdata/texts.jsonl.gz, one line each, in its order

The references are not tweetflow: the transformers' probabilities come from torch running the
same module that was exported, on the ids Hugging Face's tokenizers give (the committed
tokenizer goldens, tokenize/testdata/<fixture>.goldens.jsonl.gz, made by transformers.js),
truncated to the model's 64 positions; the string model's come from scikit-learn's
predict_proba on the decoded text.

Training is short on purpose (a few hundred steps on the sentiment train split, with an
approximate tokenizer that only has to give the model some signal): the point is a real graph
of the families' shape, not a good classifier. Seeded; torch single-threaded, so a rerun on the
same torch build writes the same weights.
"""
import base64
import gzip
import json
import math
import os
import random
import re
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

LABELS = ["negative", "neutral", "positive"]
MAX_TOKENS = 64  # the tokenizer goldens' "trunc" length
HIDDEN, LAYERS, HEADS, FFN = 16, 2, 2, 64
STEPS, BATCH = 400, 32


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            label, text = line.split("\t", 1)
            rows.append((LABELS.index(label), text))
    return rows


def read_gz_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def text_of(row):
    if "text" in row:
        return row["text"]
    return base64.b64decode(row["b64"]).decode("utf-8", errors="replace")


# ---------- approximate training tokenizers (the goldens use the reference ids) ----------

def bert_train_ids(vocab, text):
    ids = [vocab["[CLS]"]]
    for w in re.findall(r"\w+|[^\w\s]", text.lower()):
        ids.append(vocab.get(w, vocab["[UNK]"]))
    return ids[: MAX_TOKENS - 1] + [vocab["[SEP]"]]


def roberta_train_ids(vocab, text):
    ids = [0]
    for i, w in enumerate(re.findall(r"\w+|[^\w\s]", text)):
        piece = ("\u0120" if i > 0 else "") + w
        ids.append(vocab.get(piece, vocab.get(w, 3)))
    return ids[: MAX_TOKENS - 1] + [2]


# ---------- the transformer ----------

class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.out = nn.Linear(HIDDEN, HIDDEN)
        self.ln1 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ff1 = nn.Linear(HIDDEN, FFN)
        self.ff2 = nn.Linear(FFN, HIDDEN)
        self.ln2 = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, bias):
        b, t, _ = x.shape
        d = HIDDEN // HEADS
        q, k, v = self.qkv(x).split(HIDDEN, dim=2)
        q = q.reshape(b, t, HEADS, d).transpose(1, 2)
        k = k.reshape(b, t, HEADS, d).transpose(1, 2)
        v = v.reshape(b, t, HEADS, d).transpose(1, 2)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d) + bias
        att = torch.softmax(att, dim=-1)
        h = torch.matmul(att, v).transpose(1, 2).reshape(b, t, HIDDEN)
        x = self.ln1(x + self.out(h))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class Classifier(nn.Module):
    """BERT-style (roberta=False: learned positions from 0, token types, pooler on [CLS]) or
    RoBERTa-style (positions numbered from pad_token_id+1 over non-pad tokens, as
    transformers' create_position_ids_from_input_ids, no token types)."""

    def __init__(self, vocab_size, positions, roberta, pad_id):
        super().__init__()
        self.roberta, self.pad_id = roberta, pad_id
        self.words = nn.Embedding(vocab_size, HIDDEN)
        self.positions = nn.Embedding(positions, HIDDEN)
        self.types = nn.Embedding(2, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.dense = nn.Linear(HIDDEN, HIDDEN)
        self.head = nn.Linear(HIDDEN, len(LABELS))

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if self.roberta:
            real = (input_ids != self.pad_id).long()
            pos = torch.cumsum(real, dim=1) * real + self.pad_id
        else:
            pos = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids)
        x = self.words(input_ids) + self.positions(pos)
        if token_type_ids is None:
            x = x + self.types.weight[0]
        else:
            x = x + self.types(token_type_ids)
        x = self.ln(x)
        bias = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return self.head(torch.tanh(self.dense(x[:, 0])))


def pad_batch(seqs, pad_id):
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def train(model, rows, encode, pad_id, with_types):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = random.Random(1)
    model.train()
    for step in range(STEPS):
        batch = rng.sample(rows, BATCH)
        ids, mask = pad_batch([encode(t) for _, t in batch], pad_id)
        types = torch.zeros_like(ids) if with_types else None
        loss = F.cross_entropy(model(ids, mask, types), torch.tensor([y for y, _ in batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"  step {step} loss {loss.item():.3f}", file=sys.stderr)
    model.eval()


def accuracy(model, rows, encode, pad_id, with_types):
    ok = 0
    with torch.no_grad():
        for i in range(0, len(rows), 256):
            chunk = rows[i : i + 256]
            ids, mask = pad_batch([encode(t) for _, t in chunk], pad_id)
            types = torch.zeros_like(ids) if with_types else None
            pred = model(ids, mask, types).argmax(dim=1)
            ok += sum(int(p) == y for p, (y, _) in zip(pred.tolist(), chunk))
    return ok / len(rows)


def build_transformer(repo, data, fixture, name, roberta, onnx_rel):
    tok_dir = os.path.join(repo, "tokenize", "testdata", fixture)
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    if isinstance(vocab, list):
        raise SystemExit(f"{fixture}: a Unigram vocabulary; this script builds WordPiece and BPE models")
    vocab = dict(vocab)
    for a in tok["added_tokens"]:
        vocab[a["content"]] = a["id"]
    vocab_size = max(vocab.values()) + 1
    pad_id = vocab["<pad>"] if roberta else vocab["[PAD]"]
    positions = MAX_TOKENS + pad_id + 1 if roberta else MAX_TOKENS
    torch.manual_seed(1)
    model = Classifier(vocab_size, positions, roberta, pad_id)
    encode = (lambda t: roberta_train_ids(vocab, t)) if roberta else (lambda t: bert_train_ids(vocab, t))
    with_types = not roberta
    print(f"{name}: training {STEPS} steps", file=sys.stderr)
    train(model, read_tsv(os.path.join(data, "sentiment", "train.tsv")), encode, pad_id, with_types)
    acc = accuracy(model, read_tsv(os.path.join(data, "sentiment", "val.tsv")), encode, pad_id, with_types)
    print(f"{name}: validation accuracy {acc:.3f} (approximate training tokenizer)", file=sys.stderr)

    out = os.path.join(repo, "scorer", "testdata", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.join(out, onnx_rel)), exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    config = {
        "architectures": ["RobertaForSequenceClassification" if roberta else "BertForSequenceClassification"],
        "model_type": "roberta" if roberta else "bert",
        "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": FFN, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "max_position_embeddings": positions, "type_vocab_size": 2, "vocab_size": vocab_size,
        "pad_token_id": pad_id, "problem_type": "single_label_classification",
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "label2id": {l: i for i, l in enumerate(LABELS)},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    ids, mask = pad_batch([[0, 5, 6, 2], [0, 5, 2]], pad_id)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    args = (ids, mask, torch.zeros_like(ids)) if with_types else (ids, mask)
    dyn = {n: {0: "batch", 1: "sequence"} for n in names}
    dyn["logits"] = {0: "batch"}
    torch.onnx.export(model, args, os.path.join(out, onnx_rel), input_names=names, output_names=["logits"],
                      dynamic_axes=dyn, opset_version=14, do_constant_folding=True)

    texts = read_gz_lines(os.path.join(repo, "tokenize", "testdata", "texts.jsonl.gz"))
    ref = read_gz_lines(os.path.join(repo, "tokenize", "testdata", fixture + ".goldens.jsonl.gz"))
    if len(texts) != len(ref):
        raise SystemExit(f"{fixture}: {len(ref)} tokenizer goldens for {len(texts)} texts")
    lines = []
    with torch.no_grad():
        for r in ref:
            seq = r["trunc"]
            if len(seq) > MAX_TOKENS:
                raise SystemExit(f"{fixture}: a golden of {len(seq)} ids is longer than {MAX_TOKENS}")
            i = torch.tensor([seq])
            m = torch.ones_like(i)
            p = torch.softmax(model(i, m, torch.zeros_like(i)) if with_types else model(i, m), dim=1)[0]
            lines.append(json.dumps({"probs": [round(float(x), 7) for x in p]}))
    write_gz(os.path.join(repo, "scorer", "testdata", name + ".goldens.jsonl.gz"), lines)


def write_gz(path, lines):
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
            f.write(("\n".join(lines) + "\n").encode("utf-8"))


# ---------- the string-input model ----------

TOKEN = r"[a-z0-9]+"


def words(s):
    # What the graph does: StringNormalizer LOWER, then Tokenizer with tokenexp TOKEN. ONNX
    # Runtime lowercases with towlower, Unicode's simple case mapping; str.lower() uses the full
    # one, and the two differ only for U+0130 (full: "i" + U+0307, simple: "i").
    return re.findall(TOKEN, s.replace("\u0130", "i").lower())


def build_text_model(repo, data):
    rows = read_tsv(os.path.join(data, "sentiment", "train.tsv"))
    vec = TfidfVectorizer(tokenizer=words, lowercase=False, token_pattern=None, ngram_range=(1, 2),
                          min_df=3, max_features=20000, sublinear_tf=False, norm="l2", use_idf=True,
                          smooth_idf=True, dtype=np.float64)
    x = vec.fit_transform([t for _, t in rows])
    y = np.array([l for l, _ in rows])
    clf = LogisticRegression(C=2.0, max_iter=300, random_state=1)
    clf.fit(x, y)
    if list(clf.classes_) != [0, 1, 2]:
        raise SystemExit(f"classes {clf.classes_}")
    val = read_tsv(os.path.join(data, "sentiment", "val.tsv"))
    acc = (clf.predict(vec.transform([t for _, t in val])) == np.array([l for l, _ in val])).mean()
    print(f"tfidf-sentiment: validation accuracy {acc:.3f}", file=sys.stderr)

    vocab = vec.vocabulary_  # term -> column
    uni = sorted(t for t in vocab if " " not in t)
    bi = sorted(t for t in vocab if " " in t)
    pool = uni + [w for t in bi for w in t.split(" ")]
    indexes = [vocab[t] for t in uni + bi]
    n = len(vocab)
    idf = vec.idf_.astype(np.float32)

    nodes = [
        helper.make_node("StringNormalizer", ["text"], ["lower"], case_change_action="LOWER", is_case_sensitive=1,
                         # ONNX Runtime defaults to en_US.UTF-8, which a slim image lacks; glibc always has C.UTF-8.
                         locale="C.UTF-8"),
        helper.make_node("Tokenizer", ["lower"], ["tokens"], domain="com.microsoft", mark=0, mincharnum=1,
                         pad_value="#", tokenexp=TOKEN),
        helper.make_node("TfIdfVectorizer", ["tokens"], ["tf"], mode="TFIDF", min_gram_length=1, max_gram_length=2,
                         max_skip_count=0, ngram_counts=[0, len(uni)], ngram_indexes=indexes, pool_strings=pool,
                         # ONNX Runtime applies weights[j] to output column j (ngram_indexes order), not
                         # to the j-th n-gram of the pool.
                         weights=[float(w) for w in idf]),
        helper.make_node("Mul", ["tf", "tf"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "axis1"], ["ss"], keepdims=1),
        helper.make_node("Sqrt", ["ss"], ["norm"]),
        helper.make_node("Max", ["norm", "eps"], ["safe"]),
        helper.make_node("Div", ["tf", "safe"], ["x"]),
        helper.make_node("MatMul", ["x", "coef"], ["xw"]),
        helper.make_node("Add", ["xw", "intercept"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
    ]
    inits = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        # sklearn's normalize leaves an all-zero row at zero; so does x / max(|x|, eps).
        numpy_helper.from_array(np.array([1e-30], dtype=np.float32), "eps"),
        numpy_helper.from_array(clf.coef_.T.astype(np.float32), "coef"),
        numpy_helper.from_array(clf.intercept_.astype(np.float32), "intercept"),
    ]
    graph = helper.make_graph(
        nodes, "tfidf_sentiment",
        [helper.make_tensor_value_info("text", TensorProto.STRING, ["batch"])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(LABELS)])],
        inits)
    m = helper.make_model(graph, producer_name="tweetflow scripts/reference-models",
                          opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    out = os.path.join(repo, "scorer", "testdata", "tfidf-sentiment")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    onnx.save(m, os.path.join(out, "model.onnx"))
    with open(os.path.join(out, "model.yaml"), "w") as f:
        f.write("""# Written by scripts/reference-models/build.py: a string-input ONNX pipeline as skl2onnx
# exports scikit-learn's TfidfVectorizer + LogisticRegression (the graph lowercases, tokenizes
# and weighs the text itself, so tweetflow feeds it the raw text).
name: tfidf_sentiment
version: "1"
kind: text
description: 'TF-IDF + logistic regression sentiment (test model): P(positive) - P(negative)'
inputs:
  text: text
output: probabilities
labels: [negative, neutral, positive]
value: {derive: difference, positive: positive, negative: negative, type: float, min: -1, max: 1}
""")

    texts = [text_of(r) for r in read_gz_lines(os.path.join(repo, "tokenize", "testdata", "texts.jsonl.gz"))]
    probs = clf.predict_proba(vec.transform(texts))
    write_gz(os.path.join(repo, "scorer", "testdata", "tfidf-sentiment.goldens.jsonl.gz"),
             [json.dumps({"probs": [round(float(v), 7) for v in p]}) for p in probs])


def main():
    data, repo = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    random.seed(1)
    build_transformer(repo, data, "bert-wordpiece", "tiny-bert-sentiment", False, "model.onnx")
    build_transformer(repo, data, "roberta-bpe", "tiny-roberta-sentiment", True, os.path.join("onnx", "model.onnx"))
    build_text_model(repo, data)


if __name__ == "__main__":
    main()
