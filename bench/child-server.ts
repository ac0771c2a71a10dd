/**
 * What bench/soak.ts and bench/abuse.ts share: the mock provider and the server each in a child
 * process (so the load this process makes does not slow the provider down), the server
 * (bench/serve-child.ts) pointed at the mock, and its memory and open file descriptors read
 * from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { nodeFlags } from '../src/cli/node-flags.js';

export interface BenchServer {
  url: string;
  token: string;
  adminKey: string;
  child: ChildProcess;
  /** Resident memory now, in MB. */
  rssMb(): number;
  /** The kernel's high-water mark of resident memory, in MB. */
  peakRssMb(): number;
  /** Open file descriptors of the server process. */
  fds(): number;
  /** Stops the server (it audits its ledger) and the mock; resolves with the audit's problem count and the server's exit. */
  stop(): Promise<{ auditProblems: number | undefined; code: number | null; signal: NodeJS.Signals | null }>;
}

function statusKb(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/**
 * Starts the mock provider and the server.
 *
 * @example
 * const server = await startBenchServer();
 * console.log(server.rssMb(), server.fds());
 */
export async function startBenchServer(): Promise<BenchServer> {
  const mockPort = await freePort();
  const mock = spawn(process.execPath, ['--import', 'tsx', 'src/cli/mock-upstream-main.ts', String(mockPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    mock.stdout?.once('data', () => resolve());
    mock.once('exit', (code) => reject(new Error(`the mock provider exited (${code})`)));
  });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  const env = { ...process.env, BURSAR_OPENAI_BASE_URL: `${mockUrl}/v1`, BURSAR_ANTHROPIC_BASE_URL: mockUrl, OPENAI_API_KEY: 'bench-openai-key', ANTHROPIC_API_KEY: 'bench-anthropic-key' };
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'bench/serve-child.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = await new Promise<{ url: string; token: string; adminKey: string }>((resolve, reject) => {
    const poll = setInterval(() => {
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) {
        clearInterval(poll);
        resolve(JSON.parse(line) as { url: string; token: string; adminKey: string });
      }
    }, 50);
    void exited.then(({ code }) => {
      clearInterval(poll);
      reject(new Error(`the server exited (${code}) before listening`));
    });
  });
  const pid = child.pid ?? 0;
  return {
    ...started,
    child,
    rssMb: () => Math.round(statusKb(pid, 'VmRSS') / 1024),
    peakRssMb: () => Math.round(statusKb(pid, 'VmHWM') / 1024),
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    stop: async () => {
      child.kill('SIGTERM');
      const ended = await exited;
      mock.kill('SIGTERM');
      const line = out.split('\n').find((l) => l.startsWith('{"audit_problems"'));
      return { auditProblems: line ? (JSON.parse(line) as { audit_problems: number }).audit_problems : undefined, ...ended };
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
