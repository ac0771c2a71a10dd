import type {
  AuditReport,
  BudgetOk,
  BudgetView,
  Policy,
  ClosedPeriod,
  Command,
  CommandResult,
  LedgerEntry,
  MintOk,
  Refusal,
  ReservationView,
  ReserveOk,
  RevokeOk,
  SettleOk,
  TokenView,
  VoidOk,
} from '../core/index.js';
import { GroupCommitter, type BatchOutcome } from './batcher.js';
import type { RefusalPage, RefusalQuery, RefusalRetention, RefusalWrite } from './refusals.js';
import type { AuditOptions, FoundToken, LedgerPage, LedgerQuery, Store } from './store.js';
import type { WebhookStore } from './webhooks.js';

type Input<C extends Command['type']> = Omit<Extract<Command, { type: C }>, 'type'>;

/**
 * What every store shares: typed operations over one group-committing queue, and event
 * delivery. A backend supplies the transaction (`runBatch`) and the reads.
 */
export abstract class BaseStore implements Store {
  abstract readonly kind: 'sqlite' | 'postgres';
  abstract readonly webhooks: WebhookStore;
  private readonly listeners = new Set<(entries: readonly LedgerEntry[]) => void>();
  protected readonly committer = new GroupCommitter(
    (cmds) => this.runBatch(cmds),
    (entries) => this.emit(entries),
  );

  /** Runs commands (null: only the expiry sweep) in one transaction and commits. */
  protected abstract runBatch(cmds: readonly (Command | null)[]): BatchOutcome | Promise<BatchOutcome>;
  abstract now(): number;
  abstract getBudget(path: string): Promise<BudgetView | undefined>;
  abstract listBudgets(): Promise<BudgetView[]>;
  abstract crossBudgets(): Promise<BudgetView[]>;
  abstract chain(path: string): Promise<BudgetView[]>;

  async chainPolicies(path: string): Promise<Policy[]> {
    return (await this.chain(path)).map((b) => b.policy);
  }

  abstract getReservation(id: string): Promise<ReservationView | undefined>;
  abstract findTokenByHash(hash: string): Promise<FoundToken | undefined>;
  abstract getToken(id: string): Promise<TokenView | undefined>;
  abstract listTokens(): Promise<TokenView[]>;
  abstract ledger(query: LedgerQuery): Promise<LedgerPage>;
  abstract closedPeriods(path: string): Promise<ClosedPeriod[]>;
  abstract audit(options?: AuditOptions): Promise<AuditReport>;
  abstract writeRefusals(rows: readonly RefusalWrite[], retention: RefusalRetention): Promise<number[]>;
  abstract refusals(query: RefusalQuery): Promise<RefusalPage>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;

  execute(cmd: Command): Promise<CommandResult> {
    return this.committer.submit(cmd) as Promise<CommandResult>;
  }

  createBudget(input: Input<'createBudget'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'createBudget', ...input }) as Promise<BudgetOk | Refusal>;
  }

  updateBudget(input: Input<'updateBudget'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'updateBudget', ...input }) as Promise<BudgetOk | Refusal>;
  }

  setStatus(input: Input<'setStatus'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'setStatus', ...input }) as Promise<BudgetOk | Refusal>;
  }

  grant(input: Input<'grant'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'grant', ...input }) as Promise<BudgetOk | Refusal>;
  }

  moveBudget(input: Input<'moveBudget'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'moveBudget', ...input }) as Promise<BudgetOk | Refusal>;
  }

  resetBreaker(input: Input<'resetBreaker'>): Promise<BudgetOk | Refusal> {
    return this.execute({ type: 'resetBreaker', ...input }) as Promise<BudgetOk | Refusal>;
  }

  reserve(input: Input<'reserve'>): Promise<ReserveOk | Refusal> {
    return this.execute({ type: 'reserve', ...input }) as Promise<ReserveOk | Refusal>;
  }

  settle(input: Input<'settle'>): Promise<SettleOk | Refusal> {
    return this.execute({ type: 'settle', ...input }) as Promise<SettleOk | Refusal>;
  }

  void(input: Input<'void'>): Promise<VoidOk | Refusal> {
    return this.execute({ type: 'void', ...input }) as Promise<VoidOk | Refusal>;
  }

  mintToken(input: Input<'mintToken'>): Promise<MintOk | Refusal> {
    return this.execute({ type: 'mintToken', ...input }) as Promise<MintOk | Refusal>;
  }

  revokeToken(input: Input<'revokeToken'>): Promise<RevokeOk | Refusal> {
    return this.execute({ type: 'revokeToken', ...input }) as Promise<RevokeOk | Refusal>;
  }

  async sweep(): Promise<number> {
    const result = await this.committer.submit(null);
    return 'expired' in result ? result.expired : 0;
  }

  subscribe(listener: (entries: readonly LedgerEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(entries: readonly LedgerEntry[]): void {
    for (const listener of this.listeners) listener(entries);
  }
}
