/**
 * Bursar's wire contract, shared by every door: the one table of codes (status, provider error
 * types, retry rule), the error class and bodies, the zod schemas of everything that crosses
 * HTTP with their snake_case ⇄ camelCase codecs, and the CSV export's columns.
 */
export * from './codes.js';
export * from './errors.js';
export * from './error-schemas.js';
export * from './labels.js';
export * from './limits.js';
export * from './json.js';
export * from './schemas.js';
export * from './agent-schemas.js';
export * from './guard-schemas.js';
export * from './webhook-schemas.js';
export * from './webhook-payload.js';
export * from './mcp-schemas.js';
export * from './codecs.js';
export * from './csv.js';
export * from './credentials.js';
export * from './route.js';
export * from './admin-routes.js';
export * from './agent-routes.js';
export * from './client.js';
