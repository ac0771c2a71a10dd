import type { Store } from '../store.js';
import type { SimClock } from './sim-clock.js';

/** How the conformance suite reaches one kind of store. */
export interface ConformanceTarget {
  name: string;
  /** A fresh, empty store reading time from `clock`. */
  open(clock: SimClock): Promise<Store>;
  /** Closes `store` and opens the same database again: a restart. */
  reopen(store: Store, clock: SimClock): Promise<Store>;
  /** A second, independent handle on the same database (another process's view). */
  openSecond(store: Store, clock: SimClock): Promise<Store>;
  /** Changes one stored ledger field behind the store's back (for the tamper test). */
  tamperLedgerAmount(store: Store, seq: number, amountMicros: number): Promise<void>;
  /** Fewer property-test runs for slower stores. */
  propertyRuns?: number;
}
