import { costMicros, effectivePolicy, type BudgetView } from '../core/index.js';
import { gatewayError, type GatewayError } from './errors.js';
import { limits } from './limits.js';
import type { ModelPrice, PricingPort } from './pricing-port.js';
import type { CallUsage, ParsedCall } from './providers/adapter.js';

/** The worst case of one call: what the gateway reserves before forwarding. */
export interface Estimate {
  inputTokens: number;
  /** Output tokens the upstream is told it may produce (per choice). */
  maxOutputTokens: number;
  amountMicros: number;
}

/**
 * Input counted by the tokenizer (plus the margin for models whose tokenizer is not public and a
 * fixed size per image), and the full output allowance at the output price. The output cap is
 * the request's own, else the chain's policy, else a default, never above the model's maximum.
 */
export function estimateCall(pricing: PricingPort, price: ModelPrice, call: ParsedCall, chain: readonly BudgetView[]): Estimate | GatewayError {
  const modelMax = price.maxOutputTokens ?? limits.maxOutputTokensAbsolute;
  if (call.maxOutputTokens !== undefined && call.maxOutputTokens > modelMax) {
    return gatewayError('bad_request', `the output cap ${call.maxOutputTokens} is above ${price.model}'s maximum of ${modelMax} tokens`, { param: 'max_tokens' });
  }
  const policyMax = effectivePolicy([...chain].reverse().map((b) => b.policy)).maxOutputTokens;
  const maxOutputTokens = price.kind === 'embedding' ? 0 : Math.min(call.maxOutputTokens ?? policyMax ?? limits.maxOutputTokensDefault, modelMax);
  const counted = pricing.countTokens(call.inputText, price.model) + call.inputParts * pricing.tokensPerPart;
  const margin = pricing.inputMarginPct(price);
  const inputTokens = margin > 0 ? Math.ceil((counted * (100 + margin)) / 100) : counted;
  const inputPrice = call.writesCache ? Math.max(price.inputMicrosPerMillion, price.cacheWriteMicrosPerMillion ?? 0) : price.inputMicrosPerMillion;
  const amountMicros = Math.max(1, costMicros(inputTokens, inputPrice) + costMicros(maxOutputTokens * call.choices, price.outputMicrosPerMillion));
  return { inputTokens, maxOutputTokens, amountMicros };
}

/**
 * Usage to settle with: what the provider reported, completed from the estimate (input) and
 * the tokenizer over the streamed text (output) where it reported nothing. Never zero for a
 * call that produced anything.
 */
export function settleUsage(pricing: PricingPort, price: ModelPrice, estimate: Estimate, reported: Partial<CallUsage> | undefined, outputText: string): CallUsage {
  return {
    inputTokens: reported?.inputTokens ?? estimate.inputTokens,
    cachedTokens: reported?.cachedTokens ?? 0,
    cacheWriteTokens: reported?.cacheWriteTokens ?? 0,
    outputTokens: reported?.outputTokens ?? (outputText.length > 0 ? pricing.countTokens(outputText, price.model) : 0),
  };
}
