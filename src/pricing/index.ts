/**
 * Prices and tokens: the bundled, dated price catalog (overridable), model resolution, token
 * counting for requests, and the cost of a call from its usage or its worst case.
 *
 * @example
 * import { resolveModel, countChatInputTokens, worstCaseMicros } from './pricing/index.js';
 * const model = resolveModel('gpt-4o-mini-2024-07-18');
 * if (model.ok) worstCaseMicros(model.entry, { inputTokens: countChatInputTokens('chat', body, 'gpt-4o-mini').tokens, maxOutputTokens: 512 });
 */
export { bundledCatalog, listModels, resolveModel, type PriceCatalog, type PriceEntry, type ResolveResult, type ResolvedVia } from './catalog.js';
export { loadPricing, type LoadPricingOptions, type PricingLoadError, type PricingLoadResult } from './overrides.js';
export { priceUsage, worstCaseMicros, type CostBreakdown, type TokenUsage, type WorstCaseInput } from './cost.js';
export { pricingLimits, toolLimits } from './limits.js';
export { priceEntrySchema, overrideFileSchema } from './schema.js';
export * from './tokens.js';
export {
  defaultToolPrices,
  emptyToolPrices,
  estimateTool,
  loadToolPrices,
  mergeToolPrices,
  toolPricesFromJson,
  toolPricesToJson,
  unknownToolMicros,
  type ToolEstimate,
  type ToolEstimateBasis,
  type ToolPrices,
  type ToolPricesError,
} from './tools.js';
