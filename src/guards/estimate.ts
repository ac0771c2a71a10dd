import { effectivePolicy, type BudgetView } from '../core/index.js';
import { countChatInputTokens, type InputRoute } from '../pricing/tokens.js';
import { resolveModel, type PriceCatalog, type PriceEntry } from '../pricing/catalog.js';
import { worstCaseMicros } from '../pricing/cost.js';
import type { PlanItem } from '../contract/index.js';
import { didYouMean } from '../suggest.js';
import { guardLimits } from './limits.js';
import type { InputProblem } from './plan.js';

/** What the gateway would reserve for each call of a plan item. */
export interface ItemEstimate {
  /** The catalog id the model resolved to (what policies and the ledger see). */
  model: string;
  entry: PriceEntry;
  inputTokens: number;
  maxOutputTokens: number;
  /** The worst case of one call: what the gateway reserves before forwarding it. */
  callMicros: number;
}

/** The request the gateway would count for one call given as text: one user message. */
function requestFor(entry: PriceEntry, model: string, text: string): { route: InputRoute; body: Record<string, unknown> } {
  if (entry.kind === 'embedding') return { route: 'embeddings', body: { model, input: text } };
  const body = { model, messages: [{ role: 'user', content: text }] };
  return { route: entry.provider === 'anthropic' ? 'messages' : 'chat', body };
}

/** What prices one model call: a plan item's model, input (a count or the text) and output cap. */
export type ModelCall = Pick<PlanItem, 'model' | 'input' | 'input_tokens' | 'max_output_tokens'>;

/**
 * One call of a plan item priced the way the gateway prices it (see `estimateModelCall`). A
 * problem names the item's field (`items.N.model`).
 *
 * @example
 * estimatePlanItem({ model: 'gpt-4o-mini', budget: 'acme', input_tokens: 1_000, max_output_tokens: 500 }, 0, catalog, chain)
 * // { model: 'gpt-4o-mini', inputTokens: 1000, maxOutputTokens: 500, callMicros: 450, … }
 */
export function estimatePlanItem(item: PlanItem, index: number, catalog: PriceCatalog, chain: readonly BudgetView[]): ItemEstimate | InputProblem {
  return estimateModelCall(item, catalog, chain, `items.${index}.`);
}

/**
 * One model call priced the way the gateway prices it (see src/gateway/estimate.ts): input
 * counted with the model's tokenizer and margin (or taken as given; none is 0), the output cap
 * (the call's, else the chain's policy, else the gateway default, never above the model's
 * maximum) at the output price, at the dearest input-side price the provider may bill a plain
 * request. `chain` is the budget the call spends from and its ancestors, leaf first. A model
 * without a price, or an output cap above the model's maximum, is a problem with its field,
 * named after `fieldPrefix` (`items.3.` in a plan; nothing for a single call).
 *
 * @example
 * estimateModelCall({ model: 'gpt-4o-mini', input: 'Summarise this page', max_output_tokens: 500 }, catalog, chain)
 * // { model: 'gpt-4o-mini', inputTokens: 14, maxOutputTokens: 500, callMicros: 303, … }
 */
export function estimateModelCall(item: ModelCall, catalog: PriceCatalog, chain: readonly BudgetView[], fieldPrefix = ''): ItemEstimate | InputProblem {
  const resolved = resolveModel(item.model, catalog);
  if (!resolved.ok) {
    const field = `${fieldPrefix}model`;
    const suggestion = didYouMean(item.model, [...catalog.models.keys(), ...catalog.aliases.keys()]);
    return { field, message: `${field}: model "${item.model}" has no price in the catalog, so its cost cannot be bounded${suggestion === '' ? '; see bursar pricing list' : suggestion}` };
  }
  const { model, entry } = resolved;
  const modelMax = entry.maxOutputTokens > 0 ? entry.maxOutputTokens : guardLimits.outputTokensAbsoluteMax;
  if (item.max_output_tokens !== undefined && item.max_output_tokens > modelMax && entry.kind !== 'embedding') {
    const field = `${fieldPrefix}max_output_tokens`;
    return { field, message: `${field}: the output cap ${item.max_output_tokens} is above ${model}'s maximum of ${modelMax} tokens` };
  }
  const policyMax = effectivePolicy([...chain].reverse().map((b) => b.policy)).maxOutputTokens;
  const maxOutputTokens = entry.kind === 'embedding' ? 0 : Math.min(item.max_output_tokens ?? policyMax ?? guardLimits.outputTokensDefault, modelMax);
  let inputTokens = item.input_tokens ?? 0;
  if (item.input !== undefined) {
    const request = requestFor(entry, model, item.input);
    inputTokens = countChatInputTokens(request.route, request.body, model).tokens;
  }
  // A plain Anthropic request writes no cache; an OpenAI one may, at the price the catalog gives.
  const cacheWrite = entry.kind === 'embedding' || entry.provider === 'anthropic' ? false : undefined;
  const callMicros = Math.max(1, worstCaseMicros(entry, { inputTokens, maxOutputTokens, cacheWrite }));
  return { model, entry, inputTokens, maxOutputTokens, callMicros };
}
