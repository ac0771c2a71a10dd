/**
 * Serves the built dashboard (web/, built into dist/web by `npm run build`) at `/`.
 *
 * The build is a handful of files with content-hashed names, so they are read once into memory
 * (gzipped once too) and answered from a map. That is why this is written here rather than
 * taken from a static-file library: no path ever reaches the file system from a request, so
 * there is no traversal to guard against, and nothing is read per request.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Bounds on what is loaded from the build folder; units last. */
export const dashboardLimits = {
  filesMax: 200,
  fileBytesMax: 4 * 1024 * 1024,
  totalBytesMax: 16 * 1024 * 1024,
  /** Smaller files are sent as they are; gzip would not pay for itself. */
  gzipBytesMin: 1_024,
} as const;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page may load only its own scripts and styles and talk only to this server. */
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  contentType: string;
  etag: string;
  cacheControl: string;
}

/** The folder `npm run build` writes the dashboard to: dist/web of this package. */
export const dashboardDirDefault = fileURLToPath(new URL('../../dist/web/', import.meta.url));

function filesUnder(dir: string): string[] {
  const files: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const at = pending.pop() as string;
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) files.push(full);
      if (files.length > dashboardLimits.filesMax) throw new Error(`${dir} holds more than ${dashboardLimits.filesMax} files; is it the dashboard build?`);
    }
  }
  return files;
}

function assetOf(file: string, urlPath: string): Asset {
  const body = readFileSync(file);
  const contentType = contentTypes[extname(file)] ?? 'application/octet-stream';
  const compressible = /^(text\/|application\/json|image\/svg)/.test(contentType) && body.length >= dashboardLimits.gzipBytesMin;
  // Vite names every built asset by its content hash, so it may be cached for good; the page
  // itself is revalidated on every load so a new build is picked up at once.
  const hashed = urlPath.startsWith('/assets/');
  return {
    body,
    gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
    contentType,
    etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
    cacheControl: hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

/**
 * Every file of a dashboard build by URL path (`/index.html`, `/assets/index-3f2a.js`), or
 * undefined when the folder holds no build.
 *
 * @example
 * loadDashboard('dist/web')?.get('/index.html')?.contentType // 'text/html; charset=utf-8'
 */
export function loadDashboard(dir: string): Map<string, Asset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets = new Map<string, Asset>();
  let totalBytes = 0;
  for (const file of filesUnder(dir)) {
    const size = statSync(file).size;
    if (size > dashboardLimits.fileBytesMax) throw new Error(`${file} is larger than ${dashboardLimits.fileBytesMax} bytes`);
    totalBytes += size;
    if (totalBytes > dashboardLimits.totalBytesMax) throw new Error(`${dir} holds more than ${dashboardLimits.totalBytesMax} bytes`);
    const urlPath = `/${relative(dir, file).split(sep).join('/')}`;
    assets.set(urlPath, assetOf(file, urlPath));
  }
  return assets;
}

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Bursar</title>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The dashboard is not built</h1><p>Run <code>npm run build</code> in the Bursar folder, then reload this page.
The gateway (<code>/v1</code>) and the admin API (<code>/api</code>) work without it.</p></body></html>`;

/** What every dashboard answer says about itself; a page also may not be framed and loads only its own files. */
function securityHeaders(reply: FastifyReply, contentType: string): FastifyReply {
  void reply.header('content-type', contentType).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
  if (contentType.startsWith('text/html')) void reply.header('content-security-policy', contentSecurityPolicy).header('x-frame-options', 'DENY');
  return reply;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void securityHeaders(reply, asset.contentType).header('cache-control', asset.cacheControl).header('etag', asset.etag);
  if (asset.gzip) void reply.header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const gzip = asset.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (gzip && asset.gzip) return reply.header('content-encoding', 'gzip').code(200).send(asset.gzip);
  return reply.code(200).send(asset.body);
}

export interface DashboardOptions {
  /** The build folder (default `dashboardDirDefault`, dist/web). */
  dir?: string;
}

/**
 * The dashboard as a server plugin: `/` and `/index.html` answer the page, `/assets/…` and
 * the build's other top-level files its scripts, styles and icons. The build is read on the
 * first request; while there is none, `/` answers 503 with how to build it.
 *
 * @example
 * await startServer({ plugins: [dashboardPlugin({ dir: 'dist/web' })] });
 */
export function dashboardPlugin(options: DashboardOptions = {}): (app: FastifyInstance) => Promise<void> {
  const dir = options.dir ?? dashboardDirDefault;
  let assets: Map<string, Asset> | undefined;
  const load = () => (assets ??= loadDashboard(dir));
  return async (app) => {
    const page = async (request: FastifyRequest, reply: FastifyReply) => {
      const index = load()?.get('/index.html');
      if (!index) return securityHeaders(reply.code(503), 'text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuilt);
      return send(request, reply, index);
    };
    const file = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0] ?? '';
      const asset = load()?.get(path);
      if (!asset) return securityHeaders(reply.code(404), 'text/plain; charset=utf-8').send(`no dashboard file ${path}`);
      return send(request, reply, asset);
    };
    app.get('/', page);
    app.get('/index.html', page);
    app.get('/favicon.svg', file);
    app.get('/assets/*', file);
  };
}
