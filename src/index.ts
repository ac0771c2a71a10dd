/**
 * Bursar: hard spending limits for AI agents.
 *
 * @example
 * import { Bursar, openStore } from 'bursar';
 * const store = await openStore({ db: './bursar.db' });
 * const bursar = Bursar.local({ store, budget: 'acme/research/bot' });
 */
export * from './core/index.js';
export * from './store/index.js';
export * from './sdk/index.js';
export {
  defaultToolPrices,
  estimateTool,
  loadToolPrices,
  mergeToolPrices,
  unknownToolMicros,
  type ToolEstimate,
  type ToolEstimateBasis,
  type ToolPrices,
  type ToolPricesError,
} from './pricing/index.js';
/** For a webhook receiver: check a delivery's `Bursar-Signature` header, and the payload's type. */
export { verifyWebhookSignature, webhookSignature, type WebhookPayload } from './contract/index.js';
