import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * What a server loads before its first request: the modules `startServer` imports statically
 * (as the build emits them: `import type` is erased, every other import stays). zod and the
 * contract's schemas cost a fresh server about 6 MB of heap, which V8's collector multiplies
 * when many streams are open; they load with the admin API, a price override file or the mock
 * provider, never for plain provider calls.
 */

const src = join(dirname(fileURLToPath(import.meta.url)), '..');
const importPattern = /^\s*(import|export)\s+(type\s+)?([^'";]*?from\s+)?['"]([^'"]+)['"]/gm;

/** Every source module reachable by static imports from `entry`, and the packages they import, each with a module that imports it. */
function staticImports(entry: string): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set([entry]);
  const packages = new Map<string, string>();
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const [, keyword, typeOnly, from, specifier] of text.matchAll(importPattern)) {
      if (typeOnly !== undefined || (keyword === 'export' && from === undefined) || specifier === undefined) continue;
      if (!specifier.startsWith('.')) {
        if (!specifier.startsWith('node:') && !packages.has(specifier)) packages.set(specifier, relative(src, file));
        continue;
      }
      const target = join(dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (!existsSync(target) || modules.has(target)) continue;
      modules.add(target);
      queue.push(target);
    }
  }
  return { modules, packages };
}

describe('a server at start', () => {
  it('imports neither zod nor the contract schemas, the mock provider or price override files', () => {
    // Proves the lazy parts stay lazy: a static import of any of them from the server's start path fails this.
    const { modules, packages } = staticImports(join(src, 'server', 'index.ts'));
    const loaded = [...modules].map((m) => relative(src, m));
    expect(loaded).toContain('gateway/proxy.ts');
    expect(packages.get('zod')).toBeUndefined();
    expect(loaded.filter((m) => /^contract\/(.*schemas|.*routes|route)\.ts$|^mock-upstream\/|^pricing\/(overrides|schema|tools)\.ts$/.test(m))).toEqual([]);
  });

  it('through `bursar serve` loads the serve command alone, without the other commands or their schemas', () => {
    // Proves the executable's server path stays as lean as the library's: the other command groups load only for other commands.
    const modules = new Set<string>();
    const packages = new Map<string, string>();
    for (const entry of ['cli/main.ts', 'cli/serve.ts']) {
      const found = staticImports(join(src, entry));
      for (const m of found.modules) modules.add(relative(src, m));
      for (const [name, by] of found.packages) packages.set(name, by);
    }
    expect(modules).toContain('server/index.ts');
    expect(packages.get('zod')).toBeUndefined();
    expect([...modules].filter((m) => /^contract\/(.*schemas|.*routes|route|index)\.ts$|^mock-upstream\/|^pricing\/(overrides|schema|tools)\.ts$|^cli\/(groups|backend|remote-backend|output|budgets|mock-upstream)\.ts$/.test(m))).toEqual([]);
  });
});
