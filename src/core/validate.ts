import { refuse, type Refusal } from './codes.js';
import { limits } from './limits.js';
import { isMicros } from './money.js';
import { providerPattern, tagPattern } from './names.js';
import { modelPattern } from './route-policy.js';
import type { Labels, Usage } from './types.js';

const labelKeys = ['model', 'session', 'task', 'requestId', 'actor', 'tool', 'tokenId'] as const;
const printable = /^[\x20-\x7E\u00A0-\uFFFF]*$/;

function textProblem(value: unknown, maxBytes: number): string | undefined {
  if (typeof value !== 'string') return 'must be text';
  if (Buffer.byteLength(value) > maxBytes) return `is longer than ${maxBytes} bytes`;
  if (!printable.test(value)) return 'contains control characters';
  return undefined;
}

/** Refuses anything but a positive whole number of micros. */
export function checkPositiveAmount(value: unknown, field: string): Refusal | undefined {
  if (isMicros(value) && value > 0) return undefined;
  return refuse('invalid_amount', `${field} must be a positive whole number of micros (1 USD = 1,000,000), got ${describe(value)}`, { field });
}

/** Refuses anything but a whole number of micros, zero allowed. */
export function checkAmount(value: unknown, field: string): Refusal | undefined {
  if (isMicros(value)) return undefined;
  return refuse('invalid_amount', `${field} must be a whole number of micros from 0 to ${limits.amountMicrosMax}, got ${describe(value)}`, { field });
}

export function checkTtl(value: unknown): Refusal | undefined {
  if (value === undefined) return undefined;
  if (Number.isSafeInteger(value) && (value as number) >= limits.reservationTtlMsMin && (value as number) <= limits.reservationTtlMsMax) return undefined;
  return refuse('invalid_ttl', `ttlMs must be a whole number of milliseconds from ${limits.reservationTtlMsMin} to ${limits.reservationTtlMsMax}, got ${describe(value)}`, { field: 'ttlMs' });
}

export function checkIdempotencyKey(value: unknown): Refusal | undefined {
  if (value === undefined) return undefined;
  const problem = textProblem(value, limits.idempotencyKeyBytesMax);
  if (problem === undefined && (value as string).length > 0) return undefined;
  return refuse('invalid_idempotency_key', `idempotencyKey ${problem ?? 'cannot be empty'}`, { field: 'idempotencyKey' });
}

export function checkLabels(labels: Labels | undefined): Refusal | undefined {
  if (labels === undefined) return undefined;
  if (typeof labels !== 'object' || labels === null) return refuse('invalid_label', 'labels must be an object', { field: 'labels' });
  for (const key of Object.keys(labels)) {
    if (!(labelKeys as readonly string[]).includes(key)) return refuse('invalid_label', `unknown label "${key}"; allowed: ${labelKeys.join(', ')}`, { field: `labels.${key}` });
    const value = labels[key as keyof Labels];
    if (value === undefined) continue;
    const problem = textProblem(value, limits.labelBytesMax);
    if (problem) return refuse('invalid_label', `label ${key} ${problem}`, { field: `labels.${key}` });
  }
  return undefined;
}

/** A call's tags: at most `tagsPerCallMax`, each a tag, none twice. */
export function checkTags(tags: unknown): Refusal | undefined {
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags) || tags.length > limits.tagsPerCallMax) return refuse('invalid_label', `tags must be a list of at most ${limits.tagsPerCallMax} tags`, { field: 'tags' });
  const bad = tags.findIndex((t, i) => typeof t !== 'string' || !tagPattern.test(t) || tags.indexOf(t) !== i);
  if (bad < 0) return undefined;
  const tag = tags[bad] as unknown;
  const why = typeof tag === 'string' && tagPattern.test(tag) ? 'is given twice' : 'is not a tag (letters, digits, . _ : -, at most 64, e.g. product:chat-bot)';
  return refuse('invalid_label', `tag ${describe(tag)} ${why}`, { field: `tags.${bad}` });
}

export function checkProvider(provider: unknown): Refusal | undefined {
  if (provider === undefined || (typeof provider === 'string' && providerPattern.test(provider))) return undefined;
  return refuse('invalid_label', `provider ${describe(provider)} is not a provider name (lower-case letters, digits, . _ -)`, { field: 'provider' });
}

/** The amounts a call would reserve with each model it may be routed to: model ids to positive micros. */
export function checkModelAmounts(amounts: unknown): Refusal | undefined {
  if (amounts === undefined) return undefined;
  if (typeof amounts !== 'object' || amounts === null || Array.isArray(amounts)) return refuse('invalid_amount', 'modelAmounts must map model ids to micros', { field: 'modelAmounts' });
  const entries = Object.entries(amounts as Record<string, unknown>);
  if (entries.length > limits.routeHopsMax * limits.fallbackModelsMax) return refuse('invalid_amount', `modelAmounts may price at most ${limits.routeHopsMax * limits.fallbackModelsMax} models`, { field: 'modelAmounts' });
  for (const [model, micros] of entries) {
    if (!modelPattern.test(model) || model.endsWith('*')) return refuse('invalid_label', `modelAmounts: "${model.slice(0, 60)}" is not a model id`, { field: 'modelAmounts' });
    const problem = checkPositiveAmount(micros, `modelAmounts.${model}`);
    if (problem) return problem;
  }
  return undefined;
}

const fingerprintPattern = /^[A-Za-z0-9_-]+$/;

/** Refuses a request fingerprint that is not short url-safe text. */
export function checkFingerprint(value: unknown): Refusal | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length <= limits.fingerprintCharsMax && fingerprintPattern.test(value)) return undefined;
  return refuse('invalid_label', `fingerprint must be 1 to ${limits.fingerprintCharsMax} letters, digits, _ or -, got ${describe(value)}`, { field: 'fingerprint' });
}

export function checkText(value: unknown, field: string, maxBytes: number): Refusal | undefined {
  if (value === undefined) return undefined;
  const problem = textProblem(value, maxBytes);
  return problem ? refuse('invalid_label', `${field} ${problem}`, { field }) : undefined;
}

export function checkUsage(usage: Usage | undefined): Refusal | undefined {
  if (usage === undefined) return undefined;
  if (typeof usage !== 'object' || usage === null) return refuse('invalid_label', 'usage must be an object', { field: 'usage' });
  for (const field of ['tokensIn', 'tokensOut', 'tokensCached', 'tokensCacheWrite'] as const) {
    const value = usage[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0 && value <= limits.tokensPerRequestMax)) {
      return refuse('invalid_label', `usage.${field} must be a whole number of tokens from 0 to ${limits.tokensPerRequestMax}`, { field: `usage.${field}` });
    }
  }
  return checkText(usage.model, 'usage.model', limits.labelBytesMax);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'nothing';
  return typeof value;
}
