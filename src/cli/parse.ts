import { DateTime } from 'luxon';
import { isPeriod, isTimeZone, limits, parsePath, parseUsd, periods, policyProblem, tagPattern, type BrownoutTier, type BurnLimit, type FallbackRule, type LoopLimit, type Period } from '../core/index.js';
import { usageError } from './errors.js';
import { cliLimits } from './limits.js';

/**
 * Parsers for what people type: each turns one argument into a value or throws a usage error
 * (exit 2) naming the option and saying what would be accepted. Commander calls them while it
 * parses, before any command touches the ledger.
 */


const maxUsdText = '$1,000,000,000';

/** "--budget-limit: " before a message about an option; nothing for a positional argument. */
function prefix(label: string): string {
  return label.startsWith('-') ? `${label}: ` : '';
}

/**
 * A USD amount typed by a person, in micros. Never goes through floating point.
 *
 * @example
 * parseUsdArg('--budget-limit')('5.00') // 5_000_000
 */
export function parseUsdArg(label: string, options: { positive?: boolean } = {}): (text: string) => number {
  return (text) => {
    const micros = parseUsd(text);
    if (micros === undefined) throw usageError('invalid_amount', `${prefix(label)}${usdProblem(text)}`, label);
    if (options.positive === true && micros === 0) throw usageError('invalid_amount', `${prefix(label)}the amount must be more than $0`, label);
    return micros;
  };
}

function usdProblem(text: string): string {
  const t = text.trim();
  const quoted = JSON.stringify(text);
  if (t === '') return 'an amount in USD is required, like 5.00';
  if (/^-/.test(t)) return `${quoted} is negative; amounts are zero or more USD, like 5.00`;
  if (/^\$?\d+\.\d{7,}$/.test(t)) return `${quoted} has more than 6 decimals; the smallest amount is $0.000001`;
  if (/^\$?\d+(\.\d+)?$/.test(t)) return `${quoted} is above the largest amount, ${maxUsdText}`;
  return `${quoted} is not a USD amount; use digits with up to 6 decimals, like 5.00 or 0.25`;
}

/**
 * A budget path, checked with the ledger's own naming rules.
 *
 * @example
 * parsePathArg('path')('acme/research/bot') // 'acme/research/bot'
 */
export function parsePathArg(label: string): (text: string) => string {
  return (text) => {
    const parsed = parsePath(text);
    if ('problem' in parsed) throw usageError(text.includes('/') || text === '' ? 'invalid_path' : 'invalid_name', `${prefix(label)}${parsed.problem}`, label);
    return text;
  };
}

/**
 * A budget period: none, hour, day, week or month.
 *
 * @example
 * parsePeriodArg('month') // 'month'
 */
export function parsePeriodArg(text: string): Period {
  if (isPeriod(text)) return text;
  throw usageError('invalid_period', `--period: ${JSON.stringify(text)} is not a period; use one of ${periods.join(', ')}`, '--period');
}

/**
 * An IANA time zone name such as UTC or Europe/Amsterdam.
 *
 * @example
 * parseTimezoneArg('Europe/Amsterdam') // 'Europe/Amsterdam'
 */
export function parseTimezoneArg(text: string): string {
  if (isTimeZone(text)) return text;
  throw usageError('invalid_timezone', `--timezone: unknown time zone ${JSON.stringify(text)}; use an IANA name like UTC or Europe/Amsterdam`, '--timezone');
}

/**
 * A comma-separated list of model ids or prefixes (`gpt-4o,claude-*`).
 *
 * @example
 * parseModelsArg('gpt-4o, claude-*') // ['gpt-4o', 'claude-*']
 */
export function parseModelsArg(text: string): string[] {
  const models = text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
  if (models.length === 0) throw usageError('invalid_policy', '--models: give at least one model id, like gpt-4o,claude-*', '--models');
  const problem = policyProblem({ models });
  if (problem) throw usageError('invalid_policy', `--models: ${problem.message}`, '--models');
  return models;
}

/**
 * A whole number from 1 to `max`.
 *
 * @example
 * parseCountArg('--max-inflight', 100_000, 'invalid_policy')('4') // 4
 */
export function parseCountArg(label: string, max: number, code: string): (text: string) => number {
  return (text) => {
    const value = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw usageError(code, `${label}: ${JSON.stringify(text)} is not a whole number from 1 to ${max}`, label);
    }
    return value;
  };
}

/**
 * A TCP port, 0 meaning any free one.
 *
 * @example
 * parsePortArg('--port')('8787') // 8787
 */
export function parsePortArg(label: string): (text: string) => number {
  return (text) => {
    const value = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value > 65_535) throw usageError('invalid_port', `${label}: ${JSON.stringify(text)} is not a port from 0 to 65535 (0: any free port)`, label);
    return value;
  };
}

export const parseMaxInflightArg = parseCountArg('--max-inflight', limits.inflightMax, 'invalid_policy');

const burnPattern = /^\$?(\d{1,12}(?:\.\d{1,6})?)\s*(?:\/|per)\s*(\d{1,9})?\s*(s|m|h|d)$/i;

/**
 * One `--burn-limit` (an amount in USD per a window: `2.00/1m`, `10 per 1h`, `0.50/30s`) added to
 * those given before it; `none` stands for no burn limits at all.
 *
 * @example
 * parseBurnLimitArg('2.00/1m', undefined) // [{ amountMicros: 2_000_000, windowMs: 60_000 }]
 * parseBurnLimitArg('none', undefined) // []
 */
export function parseBurnLimitArg(text: string, previous: BurnLimit[] | undefined): BurnLimit[] {
  const t = text.trim();
  if (t.toLowerCase() === 'none') return [];
  const match = burnPattern.exec(t);
  const amountMicros = match ? parseUsd(match[1] ?? '') : undefined;
  const windowMs = match ? Number(match[2] ?? 1) * (unitMs[(match[3] ?? 's').toLowerCase()] ?? 1_000) : NaN;
  if (!match || amountMicros === undefined) {
    throw usageError('invalid_policy', `--burn-limit: ${JSON.stringify(text)} is not an amount per window; use USD per a span, like 2.00/1m or 10 per 1h (or none)`, '--burn-limit');
  }
  const burnLimits = [...(previous ?? []), { amountMicros, windowMs }];
  const problem = policyProblem({ burnLimits });
  if (problem) throw usageError('invalid_policy', `--burn-limit: ${problem.message}`, '--burn-limit');
  return burnLimits;
}

const loopPattern = /^(-?\d{1,15})\s*(?:\/|per|in)\s*(-?\d{1,9})?\s*(s|m|h|d)$/i;

/**
 * `--loop-limit`: at most so many repeats of one request in a window (`20/10m`, `5 per 1h`), or
 * `off` for no loop detection of the budget's own.
 *
 * @example
 * parseLoopLimitArg('20/10m') // { repeats: 20, windowMs: 600_000 }
 * parseLoopLimitArg('off') // 'off'
 */
export function parseLoopLimitArg(text: string): LoopLimit | 'off' {
  const t = text.trim();
  if (t.toLowerCase() === 'off') return 'off';
  const match = loopPattern.exec(t);
  if (!match) throw usageError('invalid_policy', `--loop-limit: ${JSON.stringify(text)} is not repeats per window; use a count per a span, like 20/10m or 5 per 1h (or off)`, '--loop-limit');
  const loopLimit = { repeats: Number(match[1]), windowMs: Number(match[2] ?? 1) * (unitMs[(match[3] ?? 's').toLowerCase()] ?? 1_000) };
  const problem = policyProblem({ loopLimit });
  if (problem) throw usageError('invalid_policy', `--loop-limit: ${problem.message}`, '--loop-limit');
  return loopLimit;
}

/**
 * `--alert-thresholds`: whole percentages of the limit, comma-separated (`50,80,100`).
 *
 * @example
 * parseAlertThresholdsArg('50, 80,100') // [50, 80, 100]
 */
export function parseAlertThresholdsArg(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  const pcts = parts.map((p) => (/^\d{1,4}%?$/.test(p) ? Number(p.replace('%', '')) : NaN));
  const problem = parts.length === 0 || pcts.some((p) => Number.isNaN(p)) ? { message: 'give whole percentages, comma-separated, like 50,80,100' } : policyProblem({ alertThresholdsPct: pcts });
  if (problem) throw usageError('invalid_policy', `--alert-thresholds: ${problem.message}`, '--alert-thresholds');
  return pcts;
}
const tierPattern = /^(\d{1,4})%?\s*:\s*([^=\s]+)\s*=\s*(\S+)$/;

/**
 * One `--brownout` tier (`90:gpt-4o=gpt-4o-mini`: from 90% of the budget, calls for gpt-4o go to
 * gpt-4o-mini) added to those given before it; `none` stands for no tiers.
 *
 * @example
 * parseBrownoutArg('90:gpt-4o=gpt-4o-mini', undefined) // [{ atPct: 90, from: 'gpt-4o', to: 'gpt-4o-mini' }]
 */
export function parseBrownoutArg(text: string, previous: BrownoutTier[] | undefined): BrownoutTier[] {
  const t = text.trim();
  if (t.toLowerCase() === 'none') return [];
  const match = tierPattern.exec(t);
  if (!match) throw usageError('invalid_policy', `--brownout: ${JSON.stringify(text)} is not a tier; use <percent>:<model>=<cheaper model>, like 90:gpt-4o=gpt-4o-mini (or none)`, '--brownout');
  const brownout = [...(previous ?? []), { atPct: Number(match[1]), from: match[2] ?? '', to: match[3] ?? '' }];
  const problem = policyProblem({ brownout });
  if (problem) throw usageError('invalid_policy', `--brownout: ${problem.message}`, '--brownout');
  return brownout;
}

/**
 * One `--fallback` (`gpt-4o=gpt-4o-mini,gpt-4.1-nano`: when the budgets cannot take a gpt-4o
 * call, try gpt-4o-mini, then gpt-4.1-nano) added to those given before it; `none` for none.
 *
 * @example
 * parseFallbackArg('gpt-4o=gpt-4o-mini,gpt-4.1-nano', undefined) // [{ from: 'gpt-4o', to: ['gpt-4o-mini', 'gpt-4.1-nano'] }]
 */
export function parseFallbackArg(text: string, previous: FallbackRule[] | undefined): FallbackRule[] {
  const t = text.trim();
  if (t.toLowerCase() === 'none') return [];
  const [from, list] = t.split('=', 2).map((x) => x.trim());
  const to = (list ?? '').split(',').map((m) => m.trim()).filter((m) => m.length > 0);
  if (!from || to.length === 0) throw usageError('invalid_policy', `--fallback: ${JSON.stringify(text)} is not a fallback; use <model>=<model>[,<model>…], like gpt-4o=gpt-4o-mini,gpt-4.1-nano (or none)`, '--fallback');
  const fallbacks = [...(previous ?? []), { from, to }];
  const problem = policyProblem({ fallbacks });
  if (problem) throw usageError('invalid_policy', `--fallback: ${problem.message}`, '--fallback');
  return fallbacks;
}

/**
 * A comma-separated list of tags or tag keys (`product,env:prod`).
 *
 * @example
 * parseTagsArg('--require-tags')('product, env:prod') // ['product', 'env:prod']
 */
export function parseTagsArg(label: string): (text: string) => string[] {
  return (text) => {
    const tags = [...new Set(text.split(',').map((t) => t.trim()).filter((t) => t.length > 0))];
    const bad = tags.find((t) => !tagPattern.test(t));
    if (tags.length === 0 || bad !== undefined) throw usageError('invalid_policy', `${prefix(label)}${bad === undefined ? 'give at least one tag' : `${JSON.stringify(bad)} is not a tag`}; tags are letters, digits, . _ : -, like product or env:prod`, label);
    return tags;
  };
}

/**
 * One tag (`product:chat-bot`).
 *
 * @example
 * parseTagArg('product:chat-bot') // 'product:chat-bot'
 */
export function parseTagArg(text: string): string {
  if (tagPattern.test(text)) return text;
  throw usageError('invalid_name', `${JSON.stringify(text)} is not a tag; tags are letters, digits, . _ : - (at most 64), like product:chat-bot`, 'tag');
}

/**
 * A limit in USD, or `none` for no limit (the budget only counts).
 *
 * @example
 * parseLimitArg('20') // 20_000_000
 * parseLimitArg('none') // null
 */
export function parseLimitArg(text: string): number | null {
  return text.trim().toLowerCase() === 'none' ? null : parseUsdArg('usd')(text);
}
export const parseHistoryLimitArg = parseCountArg('--limit', cliLimits.historyLimitMax, 'invalid_limit');

const unitMs: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time: a span back from now (`30m`, `24h`, `7d`, `2w`) or an ISO 8601 date or
 * date-time (read as UTC when it names no zone). Returns epoch milliseconds.
 *
 * @example
 * parseTimeArg('--since', () => Date.UTC(2026, 0, 8))('7d') // Date.UTC(2026, 0, 1)
 */
export function parseTimeArg(label: string, nowMs: () => number): (text: string) => number {
  return (text) => {
    const t = text.trim();
    const relative = /^(\d{1,10})(s|m|h|d|w)$/.exec(t);
    if (relative) {
      const spanMs = Number(relative[1]) * (unitMs[relative[2] ?? 's'] ?? 1_000);
      if (spanMs > cliLimits.relativeMsMax) throw usageError('invalid_time', `${label}: ${t} reaches back more than ten years`, label);
      return nowMs() - spanMs;
    }
    const parsed = DateTime.fromISO(t, { zone: 'utc' });
    if (t.length > 0 && /^\d{4}-/.test(t) && parsed.isValid) return parsed.toMillis();
    throw usageError('invalid_time', `${label}: ${JSON.stringify(text)} is not a time; use a span like 30m, 24h, 7d, 2w, or an ISO date like 2026-01-31 or 2026-01-31T12:00:00Z`, label);
  };
}

/**
 * The base URL of a Bursar server: http or https, without a query or fragment.
 *
 * @example
 * parseUrlArg('http://127.0.0.1:8787/') // 'http://127.0.0.1:8787'
 */
export function parseUrlArg(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw usageError('invalid_url', `--url: ${JSON.stringify(text)} is not a server URL; use one like http://127.0.0.1:8787`, '--url');
  }
  if (url.username !== '' || url.password !== '') throw usageError('invalid_url', '--url: put no credentials in the URL; set BURSAR_ADMIN_KEY instead', '--url');
  return url.toString().replace(/\/+$/, '');
}

/** The flags `historyOptions` adds, as commander hands them to the action. */
export interface HistoryFlags {
  since?: number;
  limit?: number;
}

/**
 * Adds the `--since` and `--limit` options of a history listing, naming what it lists.
 *
 * @example
 * historyOptions(alerts.command('list'), context.nowMs, 'alerts');
 */
export function historyOptions<C extends { option(flags: string, description: string, parse: (text: string) => number): C }>(command: C, nowMs: () => number, what: string): C {
  return command
    .option('--since <when>', `${what} since a span ago (30m, 24h, 7d, 2w) or an ISO date/time (UTC unless it says)`, parseTimeArg('--since', nowMs))
    .option('--limit <n>', `most ${what} to show (default ${cliLimits.historyLimitDefault}, at most ${cliLimits.historyLimitMax})`, parseHistoryLimitArg);
}
