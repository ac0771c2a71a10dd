import { adminRoutes, deliveryToJson, ok, webhookTestToJson, webhookToJson } from '../../contract/index.js';
import { addWebhook as addWebhookOp, listWebhooks as listWebhooksOp, removeWebhook as removeWebhookOp, testWebhook as testWebhookOp, webhookDeliveries } from '../../ops/index.js';
import { route, type Route } from '../deps.js';

/** `/api/webhooks…`: add, list, remove and test webhooks, and read their deliveries. */

const listWebhooks = route(adminRoutes.listWebhooks, async ({ deps }) => ({ webhooks: (await listWebhooksOp(deps.store)).map(webhookToJson) }));

const addWebhook = route(adminRoutes.addWebhook, async ({ body, deps, reply }) => {
  const added = ok(await addWebhookOp(deps.store, deps.random, { url: body.url, events: body.events, secret: body.secret }));
  void reply.header('cache-control', 'no-store');
  return { webhook: webhookToJson(added.webhook), secret: added.secret };
});

const removeWebhook = route(adminRoutes.removeWebhook, async ({ params, deps }) => {
  const removed = ok(await removeWebhookOp(deps.store, params.id));
  return { removed: params.id, dropped_pending: removed.dropped };
});

const testWebhook = route(adminRoutes.testWebhook, async ({ params, deps }) => webhookTestToJson(ok(await testWebhookOp(deps.store, { random: deps.random }, params.id)).result));

const listWebhookDeliveries = route(adminRoutes.listWebhookDeliveries, async ({ params, query, deps }) => {
  const found = ok(await webhookDeliveries(deps.store, params.id, { state: query.state, limit: query.limit }));
  return { deliveries: found.deliveries.map(deliveryToJson) };
});

export const webhookRoutes: Route[] = [listWebhooks, addWebhook, removeWebhook, testWebhook, listWebhookDeliveries];
