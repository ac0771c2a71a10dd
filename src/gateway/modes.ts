import type { GatewayMode } from './proxy.js';

/**
 * The modes a gateway runs in: `enforce` refuses, `shadow` forwards and reports what it would
 * have refused, `dry-run` forwards nothing.
 *
 * @example
 * gatewayModes.includes('shadow') // true
 */
export const gatewayModes = ['enforce', 'shadow', 'dry-run'] as const satisfies readonly GatewayMode[];
