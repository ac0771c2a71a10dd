/** Ledger stores: one interface, an embedded SQLite backend and a PostgreSQL backend. */
export * from './store.js';
export type { RefusalPage, RefusalQuery, RefusalRecord, RefusalRetention, RefusalWrite } from './refusals.js';
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { openPostgresStore, parsePostgresUrl, PostgresStore, type PostgresStoreOptions, type PostgresTimeouts } from './postgres/postgres-store.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { encodeCursor } from './rows.js';
export { deliveryStates, type AttemptRecord, type ClaimedDelivery, type ClaimRequest, type Delivery, type DeliveryState, type StoredWebhook, type WebhookRecord, type WebhookStats, type WebhookStore } from './webhooks.js';
