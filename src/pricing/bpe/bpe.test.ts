import fc from 'fast-check';
import { countTokens as cl100kCount } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200kCount } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { BpeCounter, loadBpeCounter, loadRankTable, lookupRank, rankFilePath, splitPatterns, type BpeEncodingName } from './index.js';
import { parseRankFile } from './table.js';

// The reference: gpt-tokenizer, with special-token text counted as plain text (as tokens.ts did).
const plain = { disallowedSpecial: new Set<string>() };
const reference: Record<BpeEncodingName, (text: string) => number> = {
  o200k_base: (text) => o200kCount(text, plain),
  cl100k_base: (text) => cl100kCount(text, plain),
};
const encodings: BpeEncodingName[] = ['o200k_base', 'cl100k_base'];
const runs = Number(process.env.BURSAR_PROPERTY_RUNS ?? 300);

// Per encoding: the counter tokens.ts uses, and one that merges every piece with the heap.
const counters = Object.fromEntries(
  encodings.map((name) => {
    const table = loadRankTable(rankFilePath(name));
    return [name, { normal: loadBpeCounter(name), heap: new BpeCounter(table, new RegExp(splitPatterns[name], 'gu'), 1), table }];
  }),
) as Record<BpeEncodingName, { normal: BpeCounter; heap: BpeCounter; table: ReturnType<typeof loadRankTable> }>;

function expectSameCounts(name: BpeEncodingName, text: string): void {
  const expected = reference[name](text);
  expect({ text, count: counters[name].normal.count(text) }).toEqual({ text, count: expected });
  expect({ text, heap: counters[name].heap.count(text) }).toEqual({ text, heap: expected });
}

const corpus: string[] = [
  '',
  'hello world',
  'The quick brown fox jumps over the lazy dog. It\'s what they\'ve said; we\'ll see, I\'m sure they\'d AGREE\'S.',
  'In 1905, Einstein published four papers — on the photoelectric effect, Brownian motion, special relativity and E=mc².',
  'function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport const x = add(1, 2);\n',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n',
  '#include <stdio.h>\nint main(void) {\n\tprintf("%d\\n", 42);\n\treturn 0;\n}\n',
  'fn main() { let v: Vec<u8> = (0..=255).collect(); println!("{:?}", &v[..4]); }',
  'SELECT id, name FROM users WHERE email LIKE \'%@example.com\' ORDER BY created_at DESC LIMIT 10;',
  '<div class="card"><a href="https://example.com/a?b=c&d=e#f">link</a></div>',
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] }),
  JSON.stringify({ nested: { deeply: { array: [1, 2.5, -3e10, null, true, false, '', '\u0000\u001f'] } } }, null, 2),
  '   leading and trailing spaces   ',
  '\t\t\ttabs\tand  double  spaces\u00a0nbsp\u3000ideographic\u2003em',
  'line one\nline two\r\nline three\rline four\n\n\n\nafter blank lines\n \n \n',
  '\n',
  ' \n',
  '\r\n\r\n',
  '          \n          x',
  '0 1 12 123 1234 12345 123456 1234567 3.14159 -42 1,000,000 0x1F 1e-9 ١٢٣ ४५६ ⅷ',
  '日本語のテキストです。中文文本，包括标点。한국어 텍스트입니다.',
  '東京タワーは1958年に完成しました。',
  'emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷🇯🇵 ❤️ ✈︎ 🧑🏻‍💻',
  'مرحبا بالعالم، هذا نص عربي. שלום עולם, זה טקסט בעברית.',
  'Ça, c\'est déjà l\'été à Zürich — naïve façade, São Paulo, Łódź, Ærøskøbing, İstanbul, ß ẞ.',
  'e\u0301 a\u0308 o\u0303\u0323 Z\u0335\u0321\u0322\u0327a\u0334l\u0337g\u0336o\u0338 ् ि क्षत्रिय',
  'Ελληνικά κείμενα και Русский текст и Українська мова.',
  'हिन्दी पाठ, বাংলা লেখা, தமிழ் உரை, ไทยภาษา, ລາວ, ខ្មែរ, မြန်မာ',
  '<|endoftext|>',
  'before<|endoftext|>after <|im_start|>user\nhi<|im_end|><|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|><|im_sep|>',
  '\uD800',
  '\uDC00',
  'a\uD800b\uDC00c\uDBFF\uDFFF\uD83D',
  '\uD83D\uDE00\uD83D',
  '\uFFFD\uFFFD \uFFFD',
  '\uFEFFusing System;\n\uFEFF\uFEFF\n\uFEFFnamespace x\n\uFEFF// c\n\uFEFF#',
  'x\uFEFF y \uFEFF\uFEFFz',
  '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f\u0080\u009f',
  'a'.repeat(3000),
  ' '.repeat(3000),
  '\n'.repeat(1500),
  '1'.repeat(2000),
  '.'.repeat(2000),
  'é'.repeat(1500),
  '日'.repeat(1500),
  '👍'.repeat(800),
  'ab'.repeat(1500),
  'ﷺ'.repeat(800),
  'x'.repeat(200) + ' ' + 'y'.repeat(200) + '\n' + 'z'.repeat(200),
  'https://example.com/' + 'path/'.repeat(200),
  'aGVsbG8gd29ybGQ='.repeat(100),
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. '.repeat(30),
];

describe('BpeCounter', () => {
  it('keeps the rank tables compact', () => {
    // Proves the point of this module: a few MB of typed arrays per encoding, not a Map of strings.
    for (const name of encodings) {
      const { table } = counters[name];
      const size = table.bytes.byteLength + table.starts.byteLength + table.slots.byteLength;
      expect(size).toBeLessThan(name === 'o200k_base' ? 5_000_000 : 2_500_000);
      expect(table.starts.length - 1).toBe(name === 'o200k_base' ? 199_998 : 100_256);
    }
  });

  it('finds every token of the rank file at its rank, and non-tokens nowhere', () => {
    // Proves the hash table: each rank's bytes look up to that rank.
    for (const name of encodings) {
      const { table } = counters[name];
      const tokens = table.starts.length - 1;
      let wrong = 0;
      for (let rank = 0; rank < tokens; rank += 1) {
        if (lookupRank(table, table.bytes, table.starts[rank] as number, table.starts[rank + 1] as number) !== rank) wrong += 1;
      }
      expect(wrong).toBe(0);
      expect(lookupRank(table, new TextEncoder().encode('zzqxjvkw'), 0, 8)).toBe(-1);
      expect(lookupRank(table, new Uint8Array(0), 0, 0)).toBe(-1);
    }
  });

  it('parses rank files strictly', () => {
    // Proves a malformed or reordered file is refused rather than counted wrongly.
    const text = (s: string) => new TextEncoder().encode(s);
    const table = parseRankFile(text('YQ== 0\nYg== 1\nYWI= 2\n'));
    expect(Array.from(table.bytes)).toEqual([97, 98, 97, 98]);
    expect(lookupRank(table, text('ab'), 0, 2)).toBe(2);
    expect(() => parseRankFile(text('YQ== 0\nYg== 2\n'))).toThrow(/expected 1/);
    expect(() => parseRankFile(text('YQ== 0\nYQ== 1\n'))).toThrow(/repeats/);
    expect(() => parseRankFile(text('YQ== x\n'))).toThrow(/unexpected byte/);
    expect(() => parseRankFile(text('YQ== 0\nYg==\nYWI= 1\n'))).toThrow(/no rank/);
    expect(lookupRank(parseRankFile(text('YQ== 0\n\nYg== 1')), text('b'), 0, 1)).toBe(1); // blank line, no final newline
  });

  for (const name of encodings) {
    it(`counts a fixed corpus exactly as gpt-tokenizer does (${name})`, () => {
      // Proves exactness on prose, code, JSON, whitespace, numbers, scripts, emoji, special-token
      // text, lone surrogates, byte-order marks and long runs without a space.
      for (const text of corpus) expectSameCounts(name, text);
      expectSameCounts(name, corpus.join('\n'));
      expectSameCounts(name, corpus.join(''));
    });

    it(`counts arbitrary strings exactly as gpt-tokenizer does (${name})`, () => {
      // Proves exactness beyond the corpus: graphemes, any UTF-16 (lone surrogates included), and
      // mixtures of the tricky fragments.
      const fragments = fc.constantFrom(
        ' ', '  ', '\n', '\r\n', '\t', '\u00a0', 'a', 'A', 'é', 'É', 'ß', '日本', '👍', '👨‍👩‍👧', '1', '123', '١',
        "'s", "'LL", '<|endoftext|>', '//', '.', '...', '\uFEFF', '\uD800', '\uDC00', '\uFFFD', 'e\u0301', 'ע', 'ب', 'using', 'The',
      );
      const text = fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 120 }),
        fc.string({ unit: 'binary', maxLength: 120 }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
        fc.array(fc.oneof(fragments, fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 60 }).map((parts) => parts.join('')),
        fc.tuple(fc.constantFrom('a', 'é', '日', '1', ' ', '!', '\n', 'ab', '\uFEFF'), fc.integer({ min: 1, max: 400 })).map(([unit, times]) => unit.repeat(times)),
      );
      fc.assert(
        fc.property(text, (value) => {
          expectSameCounts(name, value);
        }),
        { numRuns: runs },
      );
    });

    it(`counts random runs of tokens without spaces exactly (${name})`, () => {
      // Proves the merge on long pieces built from real tokens, where many pairs compete.
      const { table } = counters[name];
      const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      const tokenCount = table.starts.length - 1;
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: tokenCount - 1 }), { minLength: 1, maxLength: 40 }), (ranks) => {
          const text = ranks.map((rank) => decoder.decode(table.bytes.subarray(table.starts[rank], table.starts[rank + 1])).replace(/\s/gu, '')).join('');
          expectSameCounts(name, text);
        }),
        { numRuns: Math.max(20, Math.floor(runs / 3)) },
      );
    });

    it(`counts 100,000-character runs in bounded time (${name})`, () => {
      // Proves long pieces are not quadratic: the heap merge takes milliseconds where the scan
      // (gpt-tokenizer's merge) takes seconds; the counts agree with gpt-tokenizer's at 6,000.
      for (const unit of ['a', 'é', '日', '\uFEFF']) {
        expectSameCounts(name, unit.repeat(6_000));
        const started = performance.now();
        const count = counters[name].normal.count(unit.repeat(100_000));
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(count).toBeGreaterThan(0);
      }
      expect(counters[name].normal.count('a'.repeat(100_000))).toBe(12_500);
    });
  }
});
