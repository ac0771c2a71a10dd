import { resetBreaker, type ResetBreakerOk } from './breaker.js';
import { checkAttribution, createBudget, grant, moveBudget, setStatus, updateBudget, validateCreate, validateGrant, validateUpdate, type BudgetDefaults, type BudgetOk } from './budgets.js';
import { refuse, type Refusal } from './codes.js';
import type { Command } from './commands.js';
import { reserve, settle, validateReserve, validateSettle, validateVoid, voidReservation, type ReserveOk, type SettleOk, type VoidOk } from './reservations.js';
import { mintToken, revokeToken, validateMint, type MintOk, type RevokeOk } from './tokens.js';
import type { Tx } from './tx.js';

export type CommandOk = BudgetOk | ResetBreakerOk | ReserveOk | SettleOk | VoidOk | MintOk | RevokeOk;
export type CommandResult = CommandOk | Refusal;

/** Checks a command's own fields, before any state is read. */
export function validateCommand(cmd: Command): Refusal | undefined {
  switch (cmd.type) {
    case 'createBudget':
      return validateCreate(cmd);
    case 'updateBudget':
      return validateUpdate(cmd);
    case 'grant':
      return validateGrant(cmd);
    case 'reserve':
      return validateReserve(cmd);
    case 'settle':
      return validateSettle(cmd);
    case 'void':
      return validateVoid(cmd);
    case 'mintToken':
      return validateMint(cmd);
    case 'resetBreaker':
      return checkAttribution(cmd);
    case 'setStatus':
    case 'moveBudget':
    case 'revokeToken':
      return undefined;
    default:
      return refuse('invalid_status', `unknown operation ${String((cmd as { type?: unknown }).type)}`);
  }
}

function run(tx: Tx, cmd: Command, defaults: BudgetDefaults): CommandResult {
  switch (cmd.type) {
    case 'createBudget':
      return createBudget(tx, cmd, defaults);
    case 'updateBudget':
      return updateBudget(tx, cmd);
    case 'setStatus':
      return setStatus(tx, cmd);
    case 'grant':
      return grant(tx, cmd);
    case 'moveBudget':
      return moveBudget(tx, cmd);
    case 'resetBreaker':
      return resetBreaker(tx, cmd);
    case 'reserve':
      return reserve(tx, cmd);
    case 'settle':
      return settle(tx, cmd);
    case 'void':
      return voidReservation(tx, cmd);
    case 'mintToken':
      return mintToken(tx, cmd);
    case 'revokeToken':
      return revokeToken(tx, cmd);
  }
}

/** The key a command's idempotency record is stored under, or undefined without one. */
export function idempotencyKeyOf(cmd: Command): string | undefined {
  const key = 'idempotencyKey' in cmd ? cmd.idempotencyKey : undefined;
  return key === undefined ? undefined : `${cmd.type}:${key}`;
}

function fingerprint(cmd: Command): string {
  const { idempotencyKey: _key, ...rest } = cmd as Command & { idempotencyKey?: string };
  return JSON.stringify(rest);
}

/**
 * Applies one command inside a store transaction: validates it, answers a retry with the first
 * result, and otherwise runs it. A refusal leaves the transaction untouched; success records
 * the result under the command's idempotency key.
 *
 * @example
 * const result = applyCommand(tx, { type: 'reserve', path: 'acme/bot', amountMicros: 5_000 }, { timezone: 'UTC' });
 * if (!result.ok) console.log(result.code); // 'budget_exceeded', …
 */
export function applyCommand(tx: Tx, cmd: Command, defaults: BudgetDefaults): CommandResult {
  const invalid = validateCommand(cmd);
  if (invalid) return invalid;
  const key = idempotencyKeyOf(cmd);
  const print = key === undefined ? '' : fingerprint(cmd);
  if (key !== undefined) {
    const previous = tx.idempotency(key);
    if (previous) {
      if (previous.fingerprint !== print) {
        return refuse('idempotency_key_reused', `idempotency key "${key.slice(cmd.type.length + 1)}" was used before for a different ${cmd.type}`, { field: 'idempotencyKey' });
      }
      return JSON.parse(previous.result) as CommandResult;
    }
  }
  const result = run(tx, cmd, defaults);
  if (result.ok && key !== undefined) tx.putIdempotency({ key, fingerprint: print, result: JSON.stringify(result) });
  return result;
}
