import type { Command } from 'commander';
import type { MintTokenInput } from './backend.js';
import { resolveAgentRefSuggesting } from './suggest.js';
import type { CliContext } from './context.js';
import { unwrap, usageError } from './errors.js';
import { isoSeconds, table, usd } from './output.js';
import { isoOrNull, tokenToJson } from '../contract/index.js';
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

/**
 * Adds `bursar tokens mint|list|revoke`: spend tokens, each with its own envelope budget under
 * an agent. The secret is printed once, at mint time; only its hash is stored.
 *
 * @example
 * registerTokens(program, context);
 */
export function registerTokens(program: Command, context: CliContext): void {
  const tokens = program.command('tokens').description('spend tokens: the bearer credentials agents call the gateway with');
  tokens
    .command('mint')
    .description('mint a spend token for an agent; prints the secret once')
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
        () => ({ ok: true, id: minted.token.id, token: minted.secret, budget: minted.envelope.path, agent: target.path, max_spend_micros: minted.envelope.limitMicros, expires_at: isoOrNull(minted.token.expiresMs), scopes: minted.token.scopes }),
        () =>
          [
            `Minted ${minted.token.id} for ${target.path} (envelope ${minted.envelope.path}).`,
            `  max spend  ${usd(minted.envelope.limitMicros)}`,
            `  expires    ${isoSeconds(minted.token.expiresMs)}`,
            `  scopes     ${minted.token.scopes.join(', ') || '-'}`,
            '',
            'The secret, shown only now (use it as the API key with baseURL pointed at Bursar):',
            `  ${minted.secret}`,
          ].join('\n'),
      );
    });
  tokens
    .command('list')
    .description('every token: id, envelope budget, status, expiry (never the secret)')
    .action(async () => {
      const list = await (await context.backend('read')).listTokens();
      await context.emit(
        () => ({ tokens: list.map(tokenToJson) }),
        () =>
          list.length === 0
            ? 'No tokens yet. Mint one with: bursar tokens mint --agent <path> --max-spend 2.00'
            : table(
                [{ header: 'ID' }, { header: 'BUDGET' }, { header: 'STATUS' }, { header: 'EXPIRES' }, { header: 'SCOPES' }, { header: 'PARENT' }],
                list.map((t) => [t.id, t.budget, t.status, isoSeconds(t.expiresMs), t.scopes.join(',') || '-', t.parentTokenId ?? '-']),
              ),
      );
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
