import type { Provider } from './errors.js';
import type { CallUsage } from './providers/adapter.js';

/** A model's price, in integer micros per million tokens. */
export interface ModelPrice {
  /** Canonical catalog id (a dated snapshot resolves to its family). */
  model: string;
  provider: Provider;
  kind: 'chat' | 'embedding';
  inputMicrosPerMillion: number;
  outputMicrosPerMillion: number;
  cachedInputMicrosPerMillion: number | null;
  cacheWriteMicrosPerMillion: number | null;
  maxOutputTokens: number | null;
}

/** What the gateway needs from the price catalog and the tokenizer. */
export interface PricingPort {
  /** The price for a model name as a client sent it, or undefined when unpriced. */
  resolve(model: string): ModelPrice | undefined;
  list(): ModelPrice[];
  /** Tokens in `text` for `model` (no safety margin). */
  countTokens(text: string, model: string): number;
  /** Extra fraction (percent) added to counted input for models whose tokenizer is not public. */
  inputMarginPct(price: ModelPrice): number;
  /** Tokens charged for each image or file part of the input. */
  tokensPerPart: number;
  /** Cost of a call's reported usage, rounded up to a micro. */
  priceUsage(price: ModelPrice, usage: CallUsage): number;
}
