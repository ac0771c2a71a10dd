import type { PricedModel } from '../ops/index.js';
import { countChatInputTokens, countTokens } from '../pricing/tokens.js';
import { priceUsage, worstCaseMicros } from '../pricing/cost.js';
import { gatewayError, type GatewayError } from './errors.js';
import { gatewayLimits } from './limits.js';
import type { CallUsage, ParsedCall, RouteAdapter } from './providers/index.js';

/** A request's model as priced: its catalog id and its entry. */
export type { PricedModel };

/** The worst case of one call: what the gateway reserves before forwarding. */
export interface Estimate {
  inputTokens: number;
  /** Output tokens the upstream is told it may produce (per choice). */
  maxOutputTokens: number;
  amountMicros: number;
}

/**
 * Input counted by the tokenizer (with the margin for models whose tokenizer is not public, and
 * a fixed size per image or file), plus the full output allowance at the output price, at the
 * dearest input-side price the provider may bill. The output cap is the request's own, else
 * the chain's policy default (`policyMax`), else a default — never above the model's maximum.
 */
export function estimateCall(adapter: RouteAdapter, body: Record<string, unknown>, priced: PricedModel, call: ParsedCall, policyMax: number | undefined): Estimate | GatewayError {
  const { entry, model } = priced;
  const modelMax = entry.maxOutputTokens > 0 ? entry.maxOutputTokens : gatewayLimits.maxOutputTokensAbsolute;
  if (call.maxOutputTokens !== undefined && call.maxOutputTokens > modelMax) {
    return gatewayError('bad_request', `the output cap ${call.maxOutputTokens} is above ${model}'s maximum of ${modelMax} tokens`, { param: 'max_tokens' });
  }
  const maxOutputTokens = entry.kind === 'embedding' ? 0 : Math.min(call.maxOutputTokens ?? policyMax ?? gatewayLimits.maxOutputTokensDefault, modelMax);
  const inputTokens = countChatInputTokens(adapter.inputRoute, body, model).tokens;
  const amountMicros = Math.max(1, worstCaseMicros(entry, { inputTokens, maxOutputTokens: maxOutputTokens * call.choices, cacheWrite: call.writesCache }));
  return { inputTokens, maxOutputTokens, amountMicros };
}

/**
 * Usage to settle with: what the provider reported, completed from the estimate (input) and
 * the tokenizer over the streamed text (output) where it reported nothing. Never zero for a
 * call that produced anything.
 */
export function settleUsage(priced: PricedModel, estimate: Estimate, reported: Partial<CallUsage> | undefined, outputText: string): CallUsage {
  return {
    inputTokens: reported?.inputTokens ?? estimate.inputTokens,
    cachedTokens: reported?.cachedTokens ?? 0,
    cacheWriteTokens: reported?.cacheWriteTokens ?? 0,
    cacheWrite1hTokens: reported?.cacheWrite1hTokens ?? 0,
    outputTokens: reported?.outputTokens ?? (outputText.length > 0 ? countTokens(outputText, priced.model) : 0),
  };
}

/** The cost of a call's usage, rounded up to a micro on each part. */
export function usageCost(priced: PricedModel, usage: CallUsage): number {
  return priceUsage(priced.entry, usage).costMicros;
}
