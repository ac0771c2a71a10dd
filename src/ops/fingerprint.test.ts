import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callFingerprint, toolFingerprint } from './fingerprint.js';
import { opsLimits } from './limits.js';

const messages = [
  { role: 'system', content: 'You are a market researcher.' },
  { role: 'user', content: 'Summarise the report on EV sales.' },
];

describe('request fingerprints', () => {
  it('is the same for one request whatever varies per call: labels, sampling, caps, streaming, whitespace', () => {
    // Proves the fields left out and the whitespace normalisation: a retry loop that changes them is still one request.
    const base = callFingerprint('gpt-4o-mini', { model: 'gpt-4o-mini', messages });
    const varied = callFingerprint('gpt-4o-mini', {
      model: 'gpt-4o-mini-2024-07-18',
      messages: [
        { role: 'system', content: '  You are a market\tresearcher.\n' },
        { role: 'user', content: 'Summarise   the report\n\non EV sales.' },
      ],
      user: 'run-17',
      metadata: { attempt: '3' },
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.9,
      seed: 42,
      max_tokens: 500,
      tool_choice: 'auto',
    });
    expect(varied).toBe(base);
    expect(base).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('is the same whatever order an object\'s keys come in, and keeps the fingerprint it had when keys were sorted by sort()', () => {
    // Proves the in-place key sort orders keys as sort() does: any insertion order gives one text.
    expect(toolFingerprint('t', { b: 1, a: [{ z: 'x', y: 'w' }], 'é': 2, A: 3 })).toBe('ZUfKnf2fvVW4jvxP');
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 4, unit: 'binary' }), { maxLength: 8 }), (keys) => {
        const forward = Object.fromEntries(keys.map((k, i) => [k, i]));
        const backward = Object.fromEntries([...keys].reverse().map((k) => [k, keys.indexOf(k)]));
        expect(toolFingerprint('t', backward)).toBe(toolFingerprint('t', forward));
      }),
    );
  });

  it('differs when the model, the conversation, the tools or the instructions differ', () => {
    // Proves what is in: each of these makes another request.
    const base = callFingerprint('gpt-4o-mini', { messages });
    const others = [
      callFingerprint('gpt-4o', { messages }),
      callFingerprint('gpt-4o-mini', { messages: [...messages, { role: 'assistant', content: 'Done.' }] }),
      callFingerprint('gpt-4o-mini', { messages: [messages[0], { role: 'user', content: 'Summarise the report on EV sales!' }] }),
      callFingerprint('gpt-4o-mini', { messages, tools: [{ type: 'function', function: { name: 'search' } }] }),
      callFingerprint('gpt-4o-mini', { input: messages }),
      callFingerprint('claude-sonnet-4-5', { system: 'Be brief.', messages: messages.slice(1) }),
      callFingerprint('claude-sonnet-4-5', { system: 'Be thorough.', messages: messages.slice(1) }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it('reads a bounded part of a large request, yet tells a grown or edited context apart', () => {
    // Proves large bodies cost a bounded walk, and that a conversation growing at its end, a longer text or a changed end is another request.
    const page = 'lorem ipsum '.repeat(20_000);
    expect(page.length).toBeGreaterThan(opsLimits.fingerprintCharsHashedMax);
    const ask = (content: string, extra: object[] = []) => callFingerprint('gpt-4o-mini', { messages: [{ role: 'user', content }, ...extra] });
    const big = ask(page);
    expect(ask(page)).toBe(big);
    expect(ask(`${page}more`)).not.toBe(big);
    expect(ask(`${page.slice(0, 100_000)}X${page.slice(100_001)}`)).toBe(big);
    expect(ask(`${page.slice(0, -1)}X`)).not.toBe(big);
    expect(ask(page, [{ role: 'assistant', content: 'ok' }])).not.toBe(big);
    const history = Array.from({ length: 500 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `step ${i}` }));
    const long = callFingerprint('gpt-4o-mini', { messages: history });
    expect(callFingerprint('gpt-4o-mini', { messages: [...history, { role: 'user', content: 'step 500' }] })).not.toBe(long);
    expect(callFingerprint('gpt-4o-mini', { messages: history.map((m) => ({ content: m.content, role: m.role })) })).toBe(long);
  });

  it('gives a tool call with params the tool and its params, and none without params', () => {
    // Proves tool spend is fingerprinted only when it says what it does.
    const fetch = toolFingerprint('WebFetch', { url: 'https://example.com/a' });
    expect(toolFingerprint('WebFetch', { url: 'https://example.com/a' })).toBe(fetch);
    expect(toolFingerprint('WebFetch', { url: 'https://example.com/b' })).not.toBe(fetch);
    expect(toolFingerprint('Search', { url: 'https://example.com/a' })).not.toBe(fetch);
    expect(toolFingerprint('WebFetch', undefined)).toBeUndefined();
  });
});
