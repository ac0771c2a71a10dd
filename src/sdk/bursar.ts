import { randomBytes } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { ClientOptions as AnthropicOptions } from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { ClientOptions as OpenAIOptions } from 'openai';
import { z } from 'zod';
import { base62, isMicros, limits, pooledRandom, type RandomBytes } from '../core/index.js';
import { contractLimits, labelText, PolicyInput, positiveMicros, reason, tag } from '../contract/index.js';
import { defaultToolPrices, estimateTool, type ToolEstimate, type ToolPrices } from '../pricing/index.js';
import { openStore, type Store } from '../store/index.js';
import type { SdkBackend } from './backend.js';
import { anthropicClient, openaiClient } from './clients.js';
import { Guard } from './guard.js';
import { sdkLimits } from './limits.js';
import { LocalBackend } from './local.js';
import { RemoteBackend } from './remote.js';
import { BursarError, type Balance, type BursarRefusal, type BursarResult, type DelegatedToken, type DelegateOptions, type Reservation, type Settlement, type ToolCall } from './types.js';

/** Labels every call of a client carries unless a call sets its own. */
export interface Labels {
  /** Groups calls into a session (`bursar sessions list`): sent as x-bursar-session. */
  session?: string;
  /** Names the task the calls are for: sent as x-bursar-task. */
  task?: string;
  /**
   * Tags the calls carry (`product:chat-bot`, `customer:42`): sent as x-bursar-tags. Each call
   * also reserves on `tags/<tag>` for each tag that has a budget, and meets a policy's required tags.
   */
  tags?: readonly string[];
}

/** A client of a running Bursar server, with a spend token. */
export interface RemoteOptions extends Labels {
  /** The server, e.g. http://127.0.0.1:8787 (the gateway and the agent routes). */
  url: string;
  /** The spend token (bsr_…) this client spends with. */
  token: string;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  random?: RandomBytes;
  now?: () => number;
}

/** A client of a ledger opened in this process. */
export interface LocalOptions extends Labels {
  /** SQLite file (default ./bursar.db) or postgres:// URL, opened on first use and closed by `close()`. */
  db?: string;
  /** Or a store that is already open (shared; `close()` leaves it open). */
  store?: Store;
  /** The budget to spend from, e.g. acme/research/bot; every budget above it is checked as well. */
  budget: string;
  /** Tool prices (default the bundled table; `loadToolPrices({ path })` reads a file). */
  toolPrices?: ToolPrices;
  /** Recorded as the actor in the ledger (default `sdk`). */
  actor?: string;
  random?: RandomBytes;
  now?: () => number;
}

interface Defaults extends Labels {
  random: RandomBytes;
  now: () => number;
}

const ToolCallSchema = z.object({
  tool: labelText,
  params: z.record(z.string(), z.unknown()).optional(),
  estimateMicros: z.int().min(1).max(limits.amountMicrosMax).optional(),
  ttlMs: z.int().min(limits.reservationTtlMsMin).max(limits.reservationTtlMsMax).optional(),
  session: labelText.optional(),
  task: labelText.optional(),
  tags: z.array(tag).max(limits.tagsPerCallMax).optional(),
});

/** Delegation options, checked with the server's own rules for the same fields (both modes). */
const DelegateSchema = z.object({
  maxSpendMicros: positiveMicros,
  models: PolicyInput.shape.models,
  expiresInMs: z.int().min(1).max(contractLimits.tokenLifetimeMsMax).optional(),
  expiresAt: z.union([z.date(), z.int().min(0)]).optional(),
  requestCapMicros: PolicyInput.shape.request_cap_micros,
  inflightMax: PolicyInput.shape.inflight_max,
  delegate: z.boolean().optional(),
  session: labelText.optional(),
  task: labelText.optional(),
  reason: reason.optional(),
});

/** A bad call, as the refusal the server would give for it: `bad_request` naming the field. */
function badCall(call: unknown, schema: z.ZodType = ToolCallSchema): BursarRefusal | undefined {
  const parsed = schema.safeParse(call);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  return { ok: false, code: 'bad_request', message: `${field || 'call'}: ${issue?.message ?? 'invalid'}`, field };
}

/**
 * Bursar from inside an agent: one interface, two modes. `Bursar.remote` talks to a running
 * server with a spend token; `Bursar.local` opens the ledger in this process and spends from a
 * budget. Either way: `guard.run` wraps a paid tool call (estimate, reserve, run, settle, or
 * void when it throws), `remaining` and `canAfford` ask before a long task, `delegate` hands a
 * sub-agent part of the budget, and in remote mode `openai()` / `anthropic()` return the
 * official SDKs pointed at the gateway, so LLM calls are metered too.
 *
 * Expected outcomes (refused, expired, bad input) are results with a stable `code`; only an
 * unreachable server or ledger throws (`BursarError`).
 *
 * @example
 * import { Bursar } from 'bursar';
 * const bursar = Bursar.remote({ url: 'http://127.0.0.1:8787', token: process.env.BURSAR_TOKEN!, session: 'run-42' });
 * const page = await bursar.guard.run({ tool: 'WebFetch', params: { url } }, () => fetchPage(url));
 * if (!page.ok) return stop(page.code); // e.g. budget_exceeded
 * const openai = await bursar.openai();
 * const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: page.value }] });
 */
export class Bursar {
  /** Runs paid tool calls under a reservation. */
  readonly guard: Guard;

  private constructor(
    private readonly backend: SdkBackend,
    private readonly defaults: Defaults,
  ) {
    this.guard = new Guard({ reserve: (call) => this.reserve(call), settle: (id, micros) => this.settle(id, micros), void: (id) => this.void(id) });
  }

  /**
   * A client of a running server, spending with a spend token.
   *
   * @example
   * const bursar = Bursar.remote({ url: 'http://127.0.0.1:8787', token: 'bsr_…', session: 'nightly-crawl' });
   */
  static remote(o: RemoteOptions): Bursar {
    const backend = new RemoteBackend({ url: o.url, token: o.token, fetch: o.fetch });
    return new Bursar(backend, { session: o.session, task: o.task, tags: o.tags, random: o.random ?? pooledRandom((n) => randomBytes(n)), now: o.now ?? (() => Date.now()) });
  }

  /**
   * A client of a ledger opened in this process, spending from `budget` (no server, no token).
   *
   * @example
   * const bursar = Bursar.local({ db: './bursar.db', budget: 'acme/research/bot' });
   * await bursar.guard.run({ tool: 'Bash', params: { command: 'make test' } }, () => run('make test'));
   * await bursar.close();
   */
  static local(o: LocalOptions): Bursar {
    const given = o.store;
    const open = given ? async () => given : () => openStore({ db: o.db ?? './bursar.db' });
    const random = o.random ?? pooledRandom((n) => randomBytes(n));
    const backend = new LocalBackend({ open, ownsStore: given === undefined, budget: o.budget, toolPrices: o.toolPrices ?? defaultToolPrices(), actor: o.actor ?? 'sdk', random });
    return new Bursar(backend, { session: o.session, task: o.task, tags: o.tags, random, now: o.now ?? (() => Date.now()) });
  }

  /** `remote` (a server and a spend token) or `local` (a ledger in this process). */
  get mode(): 'local' | 'remote' {
    return this.backend.mode;
  }

  /**
   * The same client with other default labels (calls in progress are unaffected).
   *
   * @example
   * const step = bursar.withLabels({ session: 'run-43', task: 'summarize', tags: ['product:chat-bot'] });
   */
  withLabels(labels: Labels): Bursar {
    return new Bursar(this.backend, { ...this.defaults, ...labels });
  }

  /**
   * What one call of a tool would reserve: `estimateMicros` when given, else the price table
   * (the server's in remote mode), else the unknown-tool rule (standard cost plus 20%).
   *
   * @example
   * (await bursar.estimate('Agent')).costMicros // 100_000 ($0.10)
   * (await bursar.estimate({ tool: 'CustomTool' })).basis // 'unknown'
   */
  async estimate(call: ToolCall | string): Promise<ToolEstimate> {
    const c = typeof call === 'string' ? { tool: call } : call;
    return estimateTool(await this.backend.toolPrices(), c.tool, c.estimateMicros);
  }

  /**
   * What every level of the chain can still take, leaf first, and the tightest level.
   *
   * @example
   * const b = await bursar.balance();
   * if (b.ok) console.log(b.balance.tightest, b.balance.remainingMicros);
   */
  balance(): Promise<BursarResult<{ balance: Balance }>> {
    return this.backend.balance();
  }

  /**
   * What can still be spent, in micros: the tightest level's remainder; null when no level has
   * a limit; 0 when nothing can be spent (a level paused or closed, a token revoked or expired).
   *
   * @example
   * const left = await bursar.remaining();
   * if (left !== null && left < 500_000) wrapUp();
   */
  async remaining(): Promise<number | null> {
    const b = await this.backend.balance();
    if (!b.ok || !b.balance.active) return 0;
    return b.balance.remainingMicros;
  }

  /**
   * True when an amount (micros), or one call of a tool, fits in what can still be spent. Only a
   * hint: another call may take the room first; `guard.run` reserves atomically.
   *
   * @example
   * while (await bursar.canAfford({ tool: 'WebFetch' })) await crawlNext();
   */
  async canAfford(amount: number | ToolCall | string): Promise<boolean> {
    if (typeof amount === 'number' && !isMicros(amount)) throw new BursarError('invalid_cost', `canAfford takes a whole number of micros from 0 up; got ${String(amount)}`);
    const micros = typeof amount === 'number' ? amount : (await this.estimate(amount)).costMicros;
    const remaining = await this.remaining();
    return remaining === null || micros <= remaining;
  }

  /**
   * Reserves for one tool call (what `guard.run` does first). Settle or void it by its id.
   *
   * @example
   * const r = await bursar.reserve({ tool: 'Agent', estimateMicros: 250_000 });
   * if (r.ok) await bursar.settle(r.reservation.id, 180_000);
   */
  async reserve(call: ToolCall): Promise<BursarResult<{ reservation: Reservation }>> {
    const labelled = { ...call, session: call.session ?? this.defaults.session, task: call.task ?? this.defaults.task, tags: call.tags ?? this.defaults.tags };
    const bad = badCall(labelled);
    if (bad) return bad;
    return this.backend.reserve({ ...labelled, idempotencyKey: this.key() });
  }

  /**
   * Settles a reservation at what the call actually cost.
   *
   * @example
   * await bursar.settle('rsv_42', 7_500);
   */
  settle(id: string, actualMicros: number): Promise<BursarResult<{ settlement: Settlement }>> {
    if (!isMicros(actualMicros)) return Promise.resolve({ ok: false, code: 'bad_request', message: `actualMicros must be a whole number of micros from 0 up; got ${String(actualMicros)}`, field: 'actualMicros' });
    return this.backend.settle(id, actualMicros, this.key());
  }

  /**
   * Releases a reservation without charging it (the call did not happen).
   *
   * @example
   * await bursar.void('rsv_42');
   */
  void(id: string): Promise<BursarResult<{ id: string }>> {
    return this.backend.void(id, this.key());
  }

  /**
   * Mints a child token for a sub-agent, carved out of this client's budget: it can only narrow
   * (max spend, models, expiry, caps). Remote mode needs a token with the delegate scope;
   * local mode mints under the client's budget. The result carries the child's secret and a
   * client that spends with it.
   *
   * @example
   * const child = await bursar.delegate({ maxSpendMicros: 500_000, expiresInMs: 3_600_000, models: ['gpt-4o-mini'] });
   * if (child.ok) spawnSubAgent({ token: child.token, bursar: child.bursar });
   */
  async delegate(options: DelegateOptions): Promise<BursarResult<DelegatedToken & { bursar: Bursar }>> {
    const bad = badCall(options, DelegateSchema);
    if (bad) return bad;
    const result = await this.backend.delegate(options, this.defaults.now());
    if (!result.ok) return result;
    return { ok: true, ...result.delegated, bursar: new Bursar(result.backend, this.defaults) };
  }

  /**
   * Revokes a token delegated from this client (and everything delegated from it).
   *
   * @example
   * await bursar.revoke('tok_abc123');
   */
  revoke(tokenId: string): Promise<BursarResult<{ revoked: string[] }>> {
    return this.backend.revoke(tokenId);
  }

  /**
   * The official OpenAI SDK pointed at the gateway with this client's token and labels (remote
   * mode; `npm install openai`).
   *
   * @example
   * const openai = await bursar.openai();
   * await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
   */
  async openai(options: OpenAIOptions = {}): Promise<OpenAI> {
    return openaiClient(this.connection('openai'), this.labelHeaders(), options);
  }

  /**
   * The official Anthropic SDK pointed at the gateway (remote mode; `npm install @anthropic-ai/sdk`).
   *
   * @example
   * const anthropic = await bursar.anthropic();
   * await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 512, messages: [{ role: 'user', content: 'Hi' }] });
   */
  async anthropic(options: AnthropicOptions = {}): Promise<Anthropic> {
    return anthropicClient(this.connection('anthropic'), this.labelHeaders(), options);
  }

  /** Closes what this client opened (a local ledger it opened itself). */
  close(): Promise<void> {
    return this.backend.close();
  }

  private connection(what: string): NonNullable<SdkBackend['connection']> {
    const c = this.backend.connection;
    if (!c) throw new BursarError('remote_only', `${what}() needs a server: LLM calls are metered by the gateway; use Bursar.remote({ url, token })`);
    return c;
  }

  private labelHeaders(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.defaults.session !== undefined) out['x-bursar-session'] = this.defaults.session;
    if (this.defaults.task !== undefined) out['x-bursar-task'] = this.defaults.task;
    if (this.defaults.tags !== undefined && this.defaults.tags.length > 0) out['x-bursar-tags'] = this.defaults.tags.join(',');
    return out;
  }

  private key(): string {
    return `sdk_${base62(this.defaults.random, sdkLimits.idempotencyKeyChars)}`;
  }
}
