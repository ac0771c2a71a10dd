import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardPlugin } from './index.js';

/** The static plugin on real files in a temporary build folder. */

const script = `console.log(${JSON.stringify('x'.repeat(4_000))});`;

function buildFolder(withIndex = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-dash-'));
  mkdirSync(join(dir, 'assets'));
  if (withIndex) writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), script);
  writeFileSync(join(dir, 'assets', 'index-abc123.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('dashboardPlugin', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function serve(dir: string): Promise<FastifyInstance> {
    const app = Fastify();
    await dashboardPlugin({ dir })(app);
    cleanup.push(() => app.close(), () => rmSync(dir, { recursive: true, force: true }));
    return app;
  }

  it('answers the page at / and /index.html, revalidated by its ETag, with a content security policy', async () => {
    // Proves the page's headers: HTML, no-cache with an ETag (304 on a match), and a CSP that allows only this origin.
    const app = await serve(buildFolder());
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.body).toContain('/assets/index-abc123.js');
    expect((await app.inject({ url: '/index.html' })).body).toBe(page.body);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(page.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('answers hashed assets with their types, cached for good, gzipped when the client takes it', async () => {
    // Proves assets: the right content type per extension, immutable caching, and gzip that decompresses to the file.
    const app = await serve(buildFolder());
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(script);
    const zipped = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(zipped.rawPayload.length).toBeLessThan(script.length / 10);
    expect(gunzipSync(zipped.rawPayload).toString('utf8')).toBe(script);
    expect((await app.inject({ url: '/assets/index-abc123.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await app.inject({ url: '/favicon.svg' });
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('answers 404 for any file the build does not hold, however the path is written', async () => {
    // Proves nothing outside the loaded build is reachable: unknown names and traversal attempts alike.
    const app = await serve(buildFolder());
    for (const url of ['/assets/missing.js', '/assets/../../package.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/favicon.svg/../../package.json']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('says how to build the dashboard while there is none, and serves it once built', async () => {
    // Proves a missing build is a clear 503 page rather than a crash, and a later build is picked up without a restart.
    const dir = buildFolder(false);
    const app = await serve(dir);
    const missing = await app.inject({ url: '/' });
    expect(missing.statusCode).toBe(503);
    expect(missing.body).toContain('npm run build');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Bursar</title>');
    expect((await app.inject({ url: '/' })).statusCode).toBe(200);
  });
});
