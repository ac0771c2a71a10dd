import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFlags } from '../../src/cli/node-flags.js';
import { repoRoot } from './cli-harness.js';

const shebang = readFileSync(join(repoRoot, 'src/cli/main.ts'), 'utf8').split('\n')[0] ?? '';
const startScript = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
const [interpreter = '', ...interpreterArgs] = shebang.slice(2).split(' ');

/** What a `node -e` probe prints, run the way the shebang runs the executable, then by plain Node. */
function probeBoth(probe: string): { withFlags: number; plain: number } {
  const run = (file: string, args: string[]) => Number(execFileSync(file, [...args, '-e', probe], { encoding: 'utf8', cwd: repoRoot }));
  return { withFlags: run(interpreter, interpreterArgs), plain: run(process.execPath, []) };
}

describe('the V8 flags bursar runs with', () => {
  it('are the same in the executable, npm start and the constant the benchmark uses', () => {
    // Proves the three places that start a server cannot drift apart.
    expect(shebang).toBe(`#!/usr/bin/env -S node ${nodeFlags.join(' ')}`);
    expect(startScript).toBe(`node ${nodeFlags.join(' ')} dist/cli/main.js serve --quickstart`);
  });

  it('cap the young generation when started the way the shebang starts the executable', () => {
    // Proves the shebang's command line takes effect: a process that allocates steadily keeps a
    // young generation of 2 × 4 MB, where V8's default grows it to 2 × 16 MB.
    const probe = 'let a = []; for (let i = 0; i < 3e6; i += 1) { a.push({ i }); if (a.length > 2e5) a = []; } process.stdout.write(String(require("node:v8").getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size));';
    const { withFlags: capped, plain } = probeBoth(probe);
    expect(capped).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(plain).toBeGreaterThan(capped);
  });

  it("keep V8 from recompiling undici's parser with its memory-hungry optimising compiler", () => {
    // Proves --liftoff-only takes effect where it matters: 400 answers parsed by undici (as the
    // gateway parses the providers') leave V8's peak working memory at a few MB, where the
    // optimising recompile of the parser's state machine takes about 35 MB.
    const probe = `const http = require('node:http'); const { request } = require('undici');
      const server = http.createServer((req, res) => res.end('{"ok":true}')).listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + server.address().port + '/';
        for (let i = 0; i < 400; i += 1) await (await request(url)).body.text();
        server.close();
        process.stdout.write(String(require('node:v8').getHeapStatistics().peak_malloced_memory));
      });`;
    const { withFlags, plain } = probeBoth(probe);
    expect(withFlags).toBeLessThan(10 * 1024 * 1024);
    expect(plain).toBeGreaterThan(withFlags + 10 * 1024 * 1024);
  });
});
