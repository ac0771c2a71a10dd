import type { Command } from 'commander';
import type { MintedToken, MintTokenInput } from './backend.js';
import { resolveAgentRefSuggesting } from './suggest.js';
import type { CliContext } from './context.js';
import { unwrap, usageError } from './errors.js';
import { isoSeconds, table, usd } from './output.js';
import type { TokenView } from '../core/index.js';
import { isoOrNull, tokenToJson } from '../contract/index.js';
import { addListCommand } from './list-command.js';
import { parseMaxInflightArg, parseModelsArg, parsePathArg, parseUsdArg } from './parse.js';

interface MintFlags {
  agent: string;
  maxSpend?: number;
  models?: string[];
  expires?: string;
  perRequestCap?: number;
  maxInflight?: number;
  delegate?: boolean;
  task?: string;
  session?: string;
  reason?: string;
}

const spanPattern = /^(\d{1,8})(m|h|d|w)$/;
const spanMs: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--expires`: a span from now (`30m`, `24h`, `7d`) or an ISO date-time. */
export function parseExpires(text: string, nowMs: number): number {
  const span = spanPattern.exec(text.trim());
  if (span) return nowMs + Number(span[1]) * (spanMs[span[2] ?? 'h'] ?? 3_600_000);
  const at = Date.parse(text);
  if (/^\d{4}-\d\d-\d\d/.test(text) && Number.isFinite(at) && at > nowMs) return at;
  throw usageError('invalid_time', `--expires: ${JSON.stringify(text)} is not a span like 30m, 24h, 7d or a future ISO date-time`, '--expires');
}

/** What a minted token may do, as `tokens mint` echoes it: the limits it set, on the token and its envelope. */
function mintedLimits(minted: MintedToken): { maxSpendMicros: number | null; expiresMs: number | null; models: string[] | null; requestCapMicros: number | null; inflightMax: number | null; scopes: string[] } {
  const policy = minted.envelope.policy;
  return {
    maxSpendMicros: minted.envelope.limitMicros,
    expiresMs: minted.token.expiresMs,
    models: policy.models ?? null,
    requestCapMicros: policy.requestCapMicros ?? null,
    inflightMax: policy.inflightMax ?? null,
    scopes: minted.token.scopes,
  };
}

/**
 * What an operator should know about a token it just minted: one without a spend limit or an
 * expiry is bounded only by the budgets above it, for as long as it is not revoked.
 *
 * @example
 * mintWarnings(minted, 'acme/bot') // ['no spend limit: …', 'no expiry: …']
 */
export function mintWarnings(minted: MintedToken, agent: string): string[] {
  const out: string[] = [];
  if (minted.envelope.limitMicros === null) out.push(`no spend limit: the token may spend whatever ${agent} and the budgets above it allow; set one with --max-spend`);
  if (minted.token.expiresMs === null) out.push('no expiry: the token works until it is revoked; set one with --expires (24h, 7d, or a date)');
  return out;
}

function mintedJson(minted: MintedToken, agent: string): Record<string, unknown> {
  const l = mintedLimits(minted);
  return {
    ok: true,
    id: minted.token.id,
    token: minted.secret,
    budget: minted.envelope.path,
    agent,
    max_spend_micros: l.maxSpendMicros,
    expires_at: isoOrNull(l.expiresMs),
    models: l.models,
    request_cap_micros: l.requestCapMicros,
    inflight_max: l.inflightMax,
    scopes: l.scopes,
    warnings: mintWarnings(minted, agent),
  };
}

function mintedText(minted: MintedToken, agent: string): string {
  const l = mintedLimits(minted);
  return [
    `Minted ${minted.token.id} for ${agent} (envelope ${minted.envelope.path}).`,
    `  max spend    ${l.maxSpendMicros === null ? `none (only the budgets above it: ${agent} and up)` : usd(l.maxSpendMicros)}`,
    `  expires      ${l.expiresMs === null ? 'never (until revoked)' : isoSeconds(l.expiresMs)}`,
    `  models       ${l.models === null ? 'any the budgets above it allow' : l.models.join(', ')}`,
    `  per request  ${l.requestCapMicros === null ? 'no cap of its own' : `at most ${usd(l.requestCapMicros)}`}`,
    `  in flight    ${l.inflightMax === null ? 'as the budgets above it allow' : `at most ${l.inflightMax} at once`}`,
    `  scopes       ${l.scopes.includes('delegate') ? 'delegate (may mint narrower child tokens: POST /v1/bursar/tokens)' : 'none (cannot delegate; --delegate allows it)'}`,
    ...mintWarnings(minted, agent).map((w) => `⚠ ${w}`),
    '',
    'The token, shown only now (the API key for the gateway, with the base URL pointed at Bursar):',
    `  ${minted.secret}`,
  ].join('\n');
}

function tokenRows(list: readonly TokenView[]): string {
  return table(
    [{ header: 'ID' }, { header: 'BUDGET' }, { header: 'STATUS' }, { header: 'EXPIRES' }, { header: 'SCOPES' }, { header: 'PARENT' }],
    list.map((t) => [t.id, t.budget, t.status, isoSeconds(t.expiresMs), t.scopes.join(',') || '-', t.parentTokenId ?? '-']),
  );
}

/**
 * Adds `bursar tokens mint|list|revoke`: spend tokens, each with its own envelope budget under
 * an agent. The token is printed once, at mint time, with the limits it set; only its hash is stored.
 *
 * @example
 * registerTokens(program, context);
 */
export function registerTokens(program: Command, context: CliContext): void {
  const tokens = program.command('tokens').description('spend tokens: the bearer credentials agents call the gateway with');
  tokens
    .command('mint')
    .description('mint a spend token for an agent; prints the token once, with its limits')
    .requiredOption('--agent <path>', 'the agent the token spends from: its path, or its name when unique (any budget by path works too)', parsePathArg('--agent'))
    .option('--max-spend <usd>', 'most the token may ever spend, in USD', parseUsdArg('--max-spend'))
    .option('--models <list>', 'models the token may use, comma-separated (a trailing * matches a prefix)', parseModelsArg)
    .option('--expires <when>', 'when the token stops working: 30m, 24h, 7d or an ISO date-time')
    .option('--per-request-cap <usd>', 'largest cost of a single call, in USD', parseUsdArg('--per-request-cap', { positive: true }))
    .option('--max-inflight <n>', 'most calls in flight at once', parseMaxInflightArg)
    .option('--delegate', 'let the token mint narrower child tokens for sub-agents (POST /v1/bursar/tokens)')
    .option('--task <label>', 'task label recorded with the token')
    .option('--session <label>', 'session label recorded with the token')
    .option('--reason <text>', 'why, recorded in the ledger')
    .action(async (flags: MintFlags) => {
      const backend = await context.backend('write');
      const target = await resolveAgentRefSuggesting(backend, flags.agent);
      const input: MintTokenInput = {
        path: target.path,
        limitMicros: flags.maxSpend ?? null,
        models: flags.models,
        expiresMs: flags.expires === undefined ? null : parseExpires(flags.expires, context.nowMs()),
        requestCapMicros: flags.perRequestCap,
        inflightMax: flags.maxInflight,
        scopes: flags.delegate ? ['delegate'] : [],
        labels: { ...(flags.task ? { task: flags.task } : {}), ...(flags.session ? { session: flags.session } : {}) },
        reason: flags.reason,
      };
      const minted = unwrap(await backend.mintToken(input));
      await context.emit(
        () => mintedJson(minted, target.path),
        () => mintedText(minted, target.path),
      );
    });
  addListCommand(tokens, context, {
    description: 'every token: id, envelope budget, status, expiry (never the token itself)',
    read: (backend) => backend.listTokens(),
    key: 'tokens',
    toJson: tokenToJson,
    table: tokenRows,
    none: 'No tokens yet. Mint one with: bursar tokens mint --agent <path> --max-spend 2.00',
  });
  tokens
    .command('revoke')
    .description('revoke a token and every token delegated from it; their envelopes close')
    .argument('<id>', 'token id (tok_…)')
    .option('--reason <text>', 'why, recorded in the ledger')
    .action(async (id: string, flags: { reason?: string }) => {
      const result = unwrap(await (await context.backend('write')).revokeToken({ id, reason: flags.reason }));
      await context.emit(
        () => ({ ok: true, revoked: result.revoked }),
        () => (result.revoked.length === 0 ? `${id} was already revoked.` : `Revoked ${result.revoked.join(', ')}.`),
      );
    });
}
