/**
 * Token counting: memory, load time and throughput of Bursar's BPE counter (src/pricing/bpe)
 * against gpt-tokenizer, for each encoding. Each implementation runs in its own child process
 * (node --expose-gc) so its memory is measured alone. Prints one JSON line per encoding and
 * implementation; rss_mb / heap_mb / array_buffers_mb are what loading the encoding added (after a
 * full GC; Bursar's tables are typed arrays, so they show under array_buffers_mb, not heap_mb).
 * Not a test: figures are printed, never asserted.
 *
 * A last line (`tokens_agent`) follows an agent's loop: a system prompt and a dozen tools, and a
 * conversation that grows by a question and an answer each turn, its input counted on every
 * call as the gateway does. Each turn is counted twice: as a running gateway counts it (the
 * segments of the previous turn kept, see src/pricing/segment-counts.ts) and from nothing kept;
 * the two counts must be equal.
 *
 *   npm run bench:tokens
 *   npm run bench:tokens -- --mb 4      # a larger text
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

type Impl = 'bursar' | 'gpt-tokenizer';
type Encoding = 'o200k_base' | 'cl100k_base';

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    encoding: { type: 'string' },
    mb: { type: 'string', default: '1' },
  },
});

/** About `megabytes` of mixed text: prose, code, JSON, numbers, CJK, emoji, other scripts. */
function mixedText(megabytes: number): string {
  const words = (
    'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their ' +
    'budget ledger request stream token model gateway reserve settle limit agent price cost latency throughput memory counter encoding'
  ).split(' ');
  const snippets = [
    'function add(a: number, b: number): number {\n  return a + b;\n}\n',
    'for i in range(10):\n    print(i * i)\n',
    JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 256, temperature: 0.7 }),
    '日本語のテキストと中文文本，还有한국어 문장입니다。',
    'Emoji 😀 👍🏽 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵.',
    'مرحبا بالعالم שלום עולם Привет мир Γειά σου κόσμε',
    'Ça, c\'est déjà l\'été à Zürich — naïve façade.',
    '    indented\n\t\ttabbed\n\n\n',
  ];
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 0x100000000;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < megabytes * 1_000_000) {
    let part: string;
    const pick = random();
    if (pick < 0.7) {
      const count = 5 + Math.floor(random() * 20);
      const sentence: string[] = [];
      for (let i = 0; i < count; i += 1) sentence.push(words[Math.floor(random() * words.length)] as string);
      part = `${sentence.join(' ')}. `;
    } else if (pick < 0.8) {
      part = `${Math.floor(random() * 1e9)} ${(random() * 1000).toFixed(3)} `;
    } else {
      part = snippets[Math.floor(random() * snippets.length)] as string;
    }
    parts.push(part);
    length += Buffer.byteLength(part, 'utf8');
  }
  return parts.join('');
}

async function loadCounter(impl: Impl, encoding: Encoding): Promise<(text: string) => number> {
  if (impl === 'bursar') {
    const { loadBpeCounter } = await import('../src/pricing/bpe/index.js');
    const counter = loadBpeCounter(encoding);
    return (text) => counter.count(text);
  }
  const plain = { disallowedSpecial: new Set<string>() };
  const module = (encoding === 'o200k_base' ? await import('gpt-tokenizer/encoding/o200k_base') : await import('gpt-tokenizer/encoding/cl100k_base')) as {
    countTokens: (text: string, options: { disallowedSpecial: Set<string> }) => number;
  };
  return (text) => module.countTokens(text, plain);
}

function collect(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i += 1) gc();
  return process.memoryUsage();
}

async function child(impl: Impl, encoding: Encoding): Promise<void> {
  const before = collect();
  const started = performance.now();
  const count = await loadCounter(impl, encoding);
  const loadMs = performance.now() - started;
  const after = collect();
  const text = mixedText(Number(values.mb));
  const bytes = Buffer.byteLength(text, 'utf8');
  count(text); // warm up
  const rounds = 3;
  const countStarted = performance.now();
  let tokens = 0;
  for (let i = 0; i < rounds; i += 1) tokens = count(text);
  const seconds = (performance.now() - countStarted) / 1000;
  const afterCounting = collect();
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'tokens',
      encoding,
      impl,
      load_ms: Math.round(loadMs),
      rss_mb: mb(after.rss - before.rss),
      heap_mb: mb(after.heapUsed - before.heapUsed),
      array_buffers_mb: mb(after.arrayBuffers - before.arrayBuffers),
      mb_per_s: Math.round((bytes * rounds) / 1e6 / seconds * 10) / 10,
      rss_after_counting_mb: mb(afterCounting.rss - before.rss),
      heap_after_counting_mb: mb(afterCounting.heapUsed - before.heapUsed),
      text_mb: Math.round(bytes / 1e4) / 100,
      tokens,
    }),
  );
}

/** An agent's loop, counted as the gateway counts it and from nothing kept, turn by turn. */
async function agentLoop(): Promise<void> {
  const { countChatInputTokens, segmentCountStats } = await import('../src/pricing/tokens.js');
  const text = mixedText(0.2);
  let at = 0;
  const take = (chars: number) => {
    const piece = text.slice(at, at + chars);
    at = (at + chars) % (text.length - chars);
    return piece;
  };
  const tools = Array.from({ length: 12 }, (_, i) => ({
    type: 'function',
    function: { name: `tool_${i}`, description: take(400), parameters: { type: 'object', properties: { path: { type: 'string', description: take(100) } }, required: ['path'] } },
  }));
  const messages: { role: string; content: string }[] = [{ role: 'system', content: take(4_000) }];
  const turns = 60;
  const spent = { kept: 0, cold: 0 };
  countChatInputTokens('chat', { model: 'gpt-4o', messages, tools }, 'gpt-4o'); // loads the encoding
  for (let turn = 0; turn < turns; turn += 1) {
    messages.push({ role: 'user', content: take(1_000) }, { role: 'assistant', content: take(1_500) });
    const body = { model: 'gpt-4o', messages, tools };
    // What the previous turn left (its conversation's segments) is kept: as in a running gateway.
    let started = performance.now();
    const kept = countChatInputTokens('chat', body, 'gpt-4o').tokens;
    spent.kept += performance.now() - started;
    segmentCountStats({ reset: true });
    started = performance.now();
    const cold = countChatInputTokens('chat', body, 'gpt-4o').tokens;
    spent.cold += performance.now() - started;
    if (kept !== cold) throw new Error(`turn ${turn}: ${kept} tokens counted with kept segments, ${cold} without`);
  }
  const chars = JSON.stringify({ messages, tools }).length;
  const us = (ms: number) => Math.round((ms * 1000) / turns);
  console.log(JSON.stringify({ bench: 'tokens_agent', turns, last_request_chars: chars, us_per_call_kept: us(spent.kept), us_per_call_cold: us(spent.cold), speedup: Math.round((spent.cold / spent.kept) * 10) / 10, kept_chars: segmentCountStats().chars }));
}

if (values.child === 'agent') {
  await agentLoop();
} else if (values.child) {
  await child(values.child as Impl, values.encoding as Encoding);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
    for (const impl of ['bursar', 'gpt-tokenizer'] as const) {
      const run = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', self, '--child', impl, '--encoding', encoding, '--mb', values.mb], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (run.status !== 0) process.exitCode = 1;
    }
  }
  const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', 'agent'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) process.exitCode = 1;
}
