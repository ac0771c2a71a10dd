import type { BudgetView } from '../core/index.js';

/**
 * A budget as the stores show it, for the guards' unit tests: an active agent with a monthly
 * limit (`limitMicros` unless given), nothing spent, and `remainingMicros` worked out from what
 * the test sets.
 *
 * @example
 * testView('acme/bot', { spentMicros: 5_000_000 }).remainingMicros // 45_000_000 with the default limit
 */
export function testView(path: string, o: Partial<BudgetView> & { id: number; limitMicrosDefault: number }): BudgetView {
  const { limitMicrosDefault, ...fields } = o;
  const limitMicros = fields.limitMicros === undefined ? limitMicrosDefault : fields.limitMicros;
  const spent = fields.spentMicros ?? 0;
  const reserved = fields.reservedMicros ?? 0;
  return {
    parentId: null,
    name: path.split('/').at(-1) ?? path,
    path,
    kind: 'agent',
    status: 'active',
    period: 'month',
    timezone: 'UTC',
    periodStartMs: Date.UTC(2026, 0, 1),
    periodEndMs: Date.UTC(2026, 1, 1),
    grantedMicros: 0,
    overrunMicros: 0,
    inflight: 0,
    createdMs: 0,
    policy: {},
    alertSpentPct: 0,
    alertCommittedPct: 0,
    breaker: 'closed',
    trippedUntilMs: null,
    breakerCode: null,
    burn: [],
    loop: null,
    ...fields,
    limitMicros,
    spentMicros: spent,
    reservedMicros: reserved,
    remainingMicros: limitMicros === null ? null : limitMicros - spent - reserved,
  };
}
