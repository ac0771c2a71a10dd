import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard's build: web/ into dist/web, served by `bursar serve` at `/`. Nothing is
 * loaded from a CDN; every script, style and icon is in the build. `npm run dev:web` serves
 * it with hot reload and passes /api and /v1 to a server on port 8787.
 */
const root = fileURLToPath(new URL('.', import.meta.url));
const server = process.env.BURSAR_URL ?? 'http://127.0.0.1:8787';

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': server, '/v1': server, '/metrics': server } },
});
