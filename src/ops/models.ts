import { modelAllowed, type BudgetView } from '../core/index.js';
import { failure, type Failure } from '../contract/errors.js';
import { estimateModelCall, type ItemEstimate, type ModelCall } from '../guards/estimate.js';
import { listModels, type PriceCatalog, type PriceEntry } from '../pricing/catalog.js';
import type { Store } from '../store/index.js';
import { effectiveOf } from './chain.js';

/**
 * Models as a budget's chain sees them: which priced models its policy allows, and what one
 * call of a model would reserve there, priced the way the gateway prices it.
 */

/** A priced model: its catalog id and prices. */
export interface PricedModel {
  model: string;
  entry: PriceEntry;
}

/**
 * The catalog's models that every budget of the chain at `path` allows, by provider then id
 * (every priced model when no level restricts them).
 *
 * @example
 * (await allowedModels(store, catalog, caller.envelope)).map((m) => m.model) // ['gpt-4o-mini']
 */
export async function allowedModels(store: Pick<Store, 'chain'>, catalog: PriceCatalog, path: string): Promise<PricedModel[]> {
  const allowed = effectiveOf(await store.chain(path)).models;
  return listModels(catalog).filter((m) => !allowed || modelAllowed(allowed, m.model));
}

/** One model call priced on a chain, with the chain read for it (leaf first). */
export interface ModelCallEstimate extends ItemEstimate {
  /** The nearest budget whose policy does not allow the model (a call would be refused with `model_not_allowed`), or null. */
  notAllowedBy: string | null;
  chain: BudgetView[];
}

/**
 * What one model call would reserve on the budget at `path`: input counted with the model's
 * tokenizer (or taken as given), plus the output cap (the call's, else the chain's policy
 * default) at the output price. A model without a price is `model_unpriced`, an output cap
 * above the model's maximum `bad_request`, each naming its field.
 *
 * @example
 * const e = await estimateModelCallOn(store, catalog, caller.envelope, { model: 'gpt-4o-mini', input_tokens: 1_000, max_output_tokens: 500 });
 * if (!('ok' in e)) console.log(e.callMicros, e.notAllowedBy);
 */
export async function estimateModelCallOn(store: Pick<Store, 'chain'>, catalog: PriceCatalog, path: string, call: ModelCall): Promise<ModelCallEstimate | Failure> {
  const chain = await store.chain(path);
  const estimate = estimateModelCall(call, catalog, chain);
  if ('field' in estimate) return failure(estimate.field === 'model' ? 'model_unpriced' : 'bad_request', estimate.message, { field: estimate.field });
  const denying = chain.find((b) => b.policy.models !== undefined && !modelAllowed(b.policy.models, estimate.model));
  return { ...estimate, notAllowedBy: denying?.path ?? null, chain };
}
