import { registerAgents } from './agents.js';
import { registerAlerts } from './alerts.js';
import { registerAudit } from './audit.js';
import { registerBudgets } from './budgets.js';
import { registerCredits } from './credits.js';
import { registerDemo } from './demo.js';
import { registerForecast } from './forecast.js';
import { registerLedger } from './ledger.js';
import { registerMcp } from './mcp.js';
import { registerMockUpstream } from './mock-upstream.js';
import { registerPreflight } from './preflight.js';
import { registerPricing } from './pricing.js';
import { registerRefusals } from './refusals.js';
import { registerProviders, registerTags } from './scoped.js';
import { registerServe } from './serve.js';
import { registerSessions } from './sessions.js';
import { registerTokens } from './tokens.js';
import { registerUsage } from './usage.js';
import { registerWebhooks } from './webhooks.js';
import type { RegisterGroup } from './program.js';

/**
 * Every command group of `bursar`, in help order. main.ts registers these; tests that run the
 * CLI in-process register the same list, so they cannot miss a group.
 *
 * @example
 * for (const register of commandGroups) register(program, context);
 */
export const commandGroups: readonly RegisterGroup[] = [
  registerServe,
  registerAgents,
  registerBudgets,
  registerTags,
  registerProviders,
  registerTokens,
  registerCredits,
  registerAlerts,
  registerRefusals,
  registerWebhooks,
  registerLedger,
  registerSessions,
  registerUsage,
  registerPreflight,
  registerForecast,
  registerAudit,
  registerPricing,
  registerMcp,
  registerMockUpstream,
  registerDemo,
];
