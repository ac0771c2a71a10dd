import type { IncomingHttpHeaders } from 'node:http';
import { limits, routeTargets, tagPattern, type Policy } from '../core/index.js';
import { gatewayError, isGatewayError, type GatewayError } from './errors.js';
import { estimateCall, type Estimate, type PricedModel } from './estimate.js';
import type { ParsedCall, RouteAdapter } from './providers/index.js';

/**
 * What the gateway prepares for the ledger to route a call: the call's tags, and the price of
 * every model its chain's brownout tiers and fallbacks may send it to. Which one it gets is
 * decided in the reservation's transaction; the gateway then forwards the call for that model.
 */

/** A model the call may be sent to, priced and estimated as the gateway would reserve it. */
export interface RouteOption {
  price: PricedModel;
  estimate: Estimate;
}

export interface RouteOptions {
  /** What the call reserves with each model, the one asked for included (`Reserve.modelAmounts`). */
  amounts: Record<string, number>;
  options: Map<string, RouteOption>;
}

/**
 * The tags of `x-bursar-tags` (comma-separated, each at most once), undefined without the header,
 * or a 400 naming the header.
 *
 * @example
 * callTags({ 'x-bursar-tags': 'product:chat-bot, customer:42' }) // ['product:chat-bot', 'customer:42']
 */
export function callTags(headers: IncomingHttpHeaders): string[] | undefined | GatewayError {
  const value = headers['x-bursar-tags'];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tags = [...new Set(text.split(',').map((t) => t.trim()).filter((t) => t !== ''))];
  const bad = tags.find((t) => !tagPattern.test(t));
  if (bad !== undefined) return gatewayError('bad_request', `header x-bursar-tags: "${bad.slice(0, 80)}" is not a tag (letters, digits, . _ : -, at most 64; e.g. product:chat-bot)`, { param: 'x-bursar-tags' });
  if (tags.length > limits.tagsPerCallMax) return gatewayError('bad_request', `header x-bursar-tags carries ${tags.length} tags; at most ${limits.tagsPerCallMax}`, { param: 'x-bursar-tags' });
  return tags.length > 0 ? tags : undefined;
}

/**
 * The models the chain's routing policies may send this call to, each priced and estimated for
 * this request; undefined when the chain routes nothing. A model this route cannot serve (another
 * provider or kind, unpriced, or below the request's output cap) is left out, so the ledger
 * passes over it.
 */
export function routeOptions(priceFor: (model: string) => PricedModel | GatewayError, adapter: RouteAdapter, body: Record<string, unknown>, call: ParsedCall, policies: { leafFirst: readonly Policy[]; maxOutputTokens: number | undefined }, asked: RouteOption): RouteOptions | undefined {
  const targets = routeTargets(policies.leafFirst, asked.price.model);
  if (targets.length === 0) return undefined;
  const amounts: Record<string, number> = { [asked.price.model]: asked.estimate.amountMicros };
  const options = new Map<string, RouteOption>();
  for (const model of targets) {
    const price = priceFor(model);
    if (isGatewayError(price)) continue;
    const estimate = estimateCall(adapter, body, price, { ...call, model }, policies.maxOutputTokens);
    if (isGatewayError(estimate)) continue;
    amounts[model] = estimate.amountMicros;
    options.set(model, { price, estimate });
  }
  return { amounts, options };
}
