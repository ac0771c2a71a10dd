import { useState } from 'preact/hooks';
import { ApiFailure, budgetUrl, type Budget } from './api.js';
import { formatMoney, parseMoney, type Unit } from './money.js';
import type { Live } from './live.js';
import { Dialog, ErrorText, Money, useLiveModel, useSettings } from './ui.js';

/**
 * The admin's budget changes: pause and resume, the limit and policy, and a top-up. Each goes
 * through the admin API (which refuses a viewer key anyway) and re-reads the budget's chain.
 */

const periods = ['none', 'hour', 'day', 'week', 'month'] as const;

/** The amount text for an input, in the unit shown ('' for none). */
function moneyInput(micros: number | null | undefined, unit: Unit): string {
  if (micros === null || micros === undefined) return '';
  return formatMoney(micros, unit).replace(/^\$/, '').replace(/ cr$/, '').replace(/,/g, '');
}

function messageOf(error: unknown): string {
  if (error instanceof ApiFailure) return `${error.message}${error.code ? ` (${error.code})` : ''}`;
  return (error as Error).message;
}

/** Pause or resume a budget; resolves to an error message or undefined. */
export async function setPaused(live: Live, path: string, paused: boolean): Promise<string | undefined> {
  try {
    await live.api.send('POST', budgetUrl(path, paused ? 'pause' : 'resume'), { reason: `${paused ? 'paused' : 'resumed'} from the dashboard` });
    await live.refreshBudget(path);
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

type PolicyPatch = Record<string, unknown>;

interface Draft {
  limit: string;
  period: string;
  models: string;
  requestCap: string;
  inflight: string;
  maxOutput: string;
  thresholds: string;
  reason: string;
}

function draftOf(b: Budget, unit: Unit): Draft {
  return {
    limit: moneyInput(b.limit_micros, unit),
    period: b.period,
    models: (b.policy.models ?? []).join(', '),
    requestCap: moneyInput(b.policy.request_cap_micros, unit),
    inflight: b.policy.inflight_max === undefined ? '' : String(b.policy.inflight_max),
    maxOutput: b.policy.max_output_tokens === undefined ? '' : String(b.policy.max_output_tokens),
    thresholds: (b.policy.alert_thresholds_pct ?? []).join(', '),
    reason: '',
  };
}

function wholeNumber(text: string, name: string): number | null {
  if (text.trim() === '') return null;
  if (!/^\d{1,9}$/.test(text.trim())) throw new Error(`${name}: type a whole number, or leave it empty for none`);
  return Number(text.trim());
}

function listOf(text: string): string[] | null {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length === 0 ? null : items;
}

/** What changed between the budget and the form, as a PATCH body; throws with a message for bad input. */
function patchOf(b: Budget, before: Draft, d: Draft, unit: Unit, full: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (d.limit !== before.limit) {
    if (d.limit.trim() === '') body.limit_micros = null;
    else {
      const parsed = parseMoney(d.limit, unit);
      if (!parsed.ok) throw new Error(`Limit: ${parsed.message}`);
      body.limit_micros = parsed.micros;
    }
  }
  if (!full) return body;
  if (d.period !== b.period) body.period = d.period;
  const policy: PolicyPatch = {};
  if (d.models !== before.models) policy.models = listOf(d.models);
  if (d.requestCap !== before.requestCap) {
    const parsed = d.requestCap.trim() === '' ? null : parseMoney(d.requestCap, unit);
    if (parsed && !parsed.ok) throw new Error(`Per-request cap: ${parsed.message}`);
    policy.request_cap_micros = parsed ? parsed.micros : null;
  }
  if (d.inflight !== before.inflight) policy.inflight_max = wholeNumber(d.inflight, 'In flight');
  if (d.maxOutput !== before.maxOutput) policy.max_output_tokens = wholeNumber(d.maxOutput, 'Output tokens');
  if (d.thresholds !== before.thresholds) {
    const items = listOf(d.thresholds);
    if (items?.some((s) => !/^\d{1,4}$/.test(s))) throw new Error('Alert thresholds: whole percentages separated by commas, like 50, 75, 90');
    policy.alert_thresholds_pct = items?.map(Number) ?? null;
  }
  if (Object.keys(policy).length > 0) body.policy = policy;
  return body;
}

/** The period and policy fields of the full edit form. */
function PolicyFields({ draft, set, unitName }: { draft: Draft; set: (k: keyof Draft) => (e: Event) => void; unitName: string }) {
  return (
    <fieldset>
      <legend>Period and policy</legend>
      <label>
        Period
        <select name="period" value={draft.period} onChange={set('period')}>
          {periods.map((p) => (
            <option value={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        Allowed models (comma-separated, * at the end for a prefix)
        <input name="models" value={draft.models} onInput={set('models')} placeholder="gpt-4o-mini, claude-*" />
      </label>
      <label>
        Per-request cap ({unitName})
        <input name="request_cap" inputMode="decimal" value={draft.requestCap} onInput={set('requestCap')} />
      </label>
      <div class="form-row">
        <label>
          Most in flight
          <input name="inflight_max" inputMode="numeric" value={draft.inflight} onInput={set('inflight')} />
        </label>
        <label>
          Output tokens when a request sets none
          <input name="max_output_tokens" inputMode="numeric" value={draft.maxOutput} onInput={set('maxOutput')} />
        </label>
      </div>
      <label>
        Alert thresholds (% of the limit)
        <input name="alert_thresholds" value={draft.thresholds} onInput={set('thresholds')} placeholder="50, 75, 90, 100" />
      </label>
    </fieldset>
  );
}

/**
 * Changes a budget's limit (and, with `full`, its period and policy). Only changed fields are
 * sent; an emptied field removes the limit or policy field.
 */
export function EditBudgetDialog({ budget, full, onClose }: { budget: Budget; full: boolean; onClose: () => void }) {
  const live = useLiveModel();
  const { unit } = useSettings();
  const [before] = useState(() => draftOf(budget, unit));
  const [draft, setDraft] = useState(before);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof Draft) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const unitName = unit.kind === 'credits' ? 'credits' : 'USD';
  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    let body: Record<string, unknown>;
    try {
      body = patchOf(budget, before, draft, unit, full);
    } catch (problem) {
      return setError((problem as Error).message);
    }
    if (Object.keys(body).length === 0) return onClose();
    if (draft.reason.trim() !== '') body.reason = draft.reason.trim();
    setBusy(true);
    try {
      await live.api.send('PATCH', budgetUrl(budget.path), body);
      await live.refreshBudget(budget.path);
      onClose();
    } catch (problem) {
      setError(messageOf(problem));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title={full ? `Edit ${budget.path}` : `Change the limit of ${budget.path}`} onClose={onClose}>
      <form class="form" onSubmit={(e) => void submit(e)}>
        <label>
          Limit per {budget.period === 'none' ? 'budget (no period)' : budget.period} ({unitName}; empty for no limit)
          <input name="limit" inputMode="decimal" autoComplete="off" value={draft.limit} onInput={set('limit')} autoFocus />
        </label>
        <p class="hint">
          Spent this period: <Money micros={budget.spent_micros} />, reserved <Money micros={budget.reserved_micros} />.
        </p>
        {full && <PolicyFields draft={draft} set={set} unitName={unitName} />}
        <label>
          Reason (recorded in the ledger)
          <input name="reason" value={draft.reason} onInput={set('reason')} />
        </label>
        <ErrorText message={error} />
        <div class="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Tops a budget up for its current period. */
export function GrantDialog({ budget, onClose }: { budget: Budget; onClose: () => void }) {
  const live = useLiveModel();
  const { unit } = useSettings();
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const parsed = parseMoney(amount, unit);
    if (!parsed.ok) return setError(parsed.message);
    if (parsed.micros <= 0) return setError('a top-up must be more than 0');
    setBusy(true);
    try {
      await live.api.send('POST', budgetUrl(budget.path, 'grant'), { amount_micros: parsed.micros, ...(reason.trim() ? { reason: reason.trim() } : {}) });
      await live.refreshBudget(budget.path);
      onClose();
    } catch (problem) {
      setError(messageOf(problem));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Top up ${budget.path}`} onClose={onClose}>
      <form class="form" onSubmit={(e) => void submit(e)}>
        <p class="hint">A top-up adds to the limit until the current period ends.</p>
        <label>
          Amount ({unit.kind === 'credits' ? 'credits' : 'USD'})
          <input name="amount" inputMode="decimal" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          Reason (recorded in the ledger)
          <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        <ErrorText message={error} />
        <div class="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Top up
          </button>
        </div>
      </form>
    </Dialog>
  );
}
