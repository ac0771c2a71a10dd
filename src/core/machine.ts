import { resetBreaker, type ResetBreakerOk } from './breaker.js';
import { checkAttribution, createBudget, grant, moveBudget, setStatus, updateBudget, validateCreate, validateGrant, validateUpdate, type BudgetDefaults, type BudgetOk } from './budgets.js';
import { refuse, type Refusal } from './codes.js';
import type { Command } from './commands.js';
import { reserve, settle, validateReserve, validateSettle, validateVoid, voidReservation, type ReserveOk, type SettleOk, type VoidOk } from './reservations.js';
import { mintToken, revokeToken, validateMint, type MintOk, type RevokeOk } from './tokens.js';
import type { Tx } from './tx.js';

export type CommandOk = BudgetOk | ResetBreakerOk | ReserveOk | SettleOk | VoidOk | MintOk | RevokeOk;
export type CommandResult = CommandOk | Refusal;

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** How one kind of command is checked on its own fields, then run against the ledger. */
interface CommandHandler<T extends Command['type']> {
  validate(cmd: CommandOf<T>): Refusal | undefined;
  run(tx: Tx, cmd: CommandOf<T>, defaults: BudgetDefaults): CommandResult;
}

const noFieldChecks = (): undefined => undefined;

/** Every command the ledger runs, with its own checks (before any state is read) and its work. */
const handlers: { [T in Command['type']]: CommandHandler<T> } = {
  createBudget: { validate: validateCreate, run: createBudget },
  updateBudget: { validate: validateUpdate, run: updateBudget },
  setStatus: { validate: noFieldChecks, run: setStatus },
  grant: { validate: validateGrant, run: grant },
  moveBudget: { validate: noFieldChecks, run: moveBudget },
  resetBreaker: { validate: checkAttribution, run: resetBreaker },
  reserve: { validate: validateReserve, run: reserve },
  settle: { validate: validateSettle, run: settle },
  void: { validate: validateVoid, run: voidReservation },
  mintToken: { validate: validateMint, run: mintToken },
  revokeToken: { validate: noFieldChecks, run: revokeToken },
};

/** The handler of a command's type, typed for that command (a type the table lacks has none). */
function handlerOf<T extends Command['type']>(type: T): CommandHandler<T> | undefined {
  return Object.hasOwn(handlers, type) ? handlers[type] : undefined;
}

function unknownOperation(cmd: Command): Refusal {
  return refuse('invalid_status', `unknown operation ${String((cmd as { type?: unknown }).type)}`);
}

/** Checks a command's own fields, before any state is read. */
export function validateCommand(cmd: Command): Refusal | undefined {
  const handler = handlerOf(cmd.type);
  return handler ? handler.validate(cmd) : unknownOperation(cmd);
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
  const result = handlerOf(cmd.type)?.run(tx, cmd, defaults) ?? unknownOperation(cmd);
  if (result.ok && key !== undefined) tx.putIdempotency({ key, fingerprint: print, result: JSON.stringify(result) });
  return result;
}
