import { describe, expect, it } from 'vitest';
import { chooseUpstream } from './serve.js';
import { upstreamFailure } from '../gateway/upstream.js';

describe('chooseUpstream', () => {
  const key = { OPENAI_API_KEY: 'sk-test' };
  const baseUrl = { BURSAR_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };

  it('keeps the quick start on the mock when only a provider key is exported, and says so', () => {
    // Proves an OPENAI_API_KEY exported for other tools does not take `npm start` online.
    const decision = chooseUpstream({ autoNeedsBaseUrl: true }, { ...key, ANTHROPIC_API_KEY: 'sk-ant' });
    expect(decision.mock).toBe(true);
    expect(decision.reason).toContain('OPENAI_API_KEY and ANTHROPIC_API_KEY are set');
    expect(decision.reason).toContain('--upstream real');
  });

  it('sends the quick start to the providers when asked, or when a base URL is set explicitly', () => {
    // Proves the two ways out of the quick start's offline default.
    expect(chooseUpstream({ autoNeedsBaseUrl: true, upstream: 'real' }, key).mock).toBe(false);
    expect(chooseUpstream({ autoNeedsBaseUrl: true }, baseUrl)).toEqual({ mock: false, reason: 'BURSAR_OPENAI_BASE_URL set' });
  });

  it('keeps bursar serve detecting providers from keys or base URLs, and the mock otherwise', () => {
    // Proves the server without --quickstart behaves as before: a key selects the providers.
    expect(chooseUpstream({}, key)).toEqual({ mock: false, reason: 'OPENAI_API_KEY set' });
    expect(chooseUpstream({}, { OPENAI_API_KEY: '' })).toEqual({ mock: true, reason: 'no provider key or base URL is set' });
    expect(chooseUpstream({ upstream: 'mock' }, { ...key, ...baseUrl }).mock).toBe(true);
    expect(chooseUpstream({ mockUpstream: true }, baseUrl).mock).toBe(true);
  });
});

describe('upstreamFailure', () => {
  it('names the cause of a connection failure in words, with the system code', () => {
    // Proves a 502 can say why the provider could not be reached, not only that it could not.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(upstreamFailure(refused)).toBe('nothing is listening there (ECONNREFUSED)');
    const wrapped = new Error('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }) });
    expect(upstreamFailure(wrapped)).toBe('the host name does not resolve (ENOTFOUND)');
    const tls = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    expect(upstreamFailure(tls)).toBe('CERT_HAS_EXPIRED: certificate has expired');
  });
});
