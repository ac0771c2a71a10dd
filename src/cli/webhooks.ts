import { Option, type Command } from 'commander';
import { webhookEventKinds } from '../core/index.js';
import { contractLimits, deliveryToJson, webhookTestToJson, webhookToJson, type DeliveryView, type Failure as Refused, type WebhookView } from '../contract/index.js';
import type { DeliveryState } from '../store/index.js';
import type { CliContext } from './context.js';
import { CliError, unwrap } from './errors.js';
import { addListCommand } from './list-command.js';
import { isoSeconds, table } from './output.js';
import { parseCountArg } from './parse.js';

/**
 * `bursar webhooks add|list|remove|test|deliveries`: URLs that receive alerts and breaker trips,
 * each signed with its own secret (shown once, when it is added).
 */

/** `--events a,b`: the names as typed (the operations check them, with a suggestion for a typo). */
function parseEventsArg(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A refusal of the input itself is a usage error (exit 2); any other, exit 1. */
function value<R extends { ok: true } | Refused>(result: R): Extract<R, { ok: true }> {
  if (!result.ok && result.code === 'bad_request') {
    const { ok: _ok, ...failure }: Refused = result;
    throw new CliError(failure, 2);
  }
  return unwrap(result);
}

function eventsText(events: readonly string[] | null): string {
  return events === null ? 'all' : events.join(',');
}

function lastText(w: WebhookView): string {
  const s = w.stats;
  if (s.lastAttemptMs === null) return '-';
  const what = s.lastError === null ? String(s.lastStatus) : s.lastError;
  return `${what} at ${isoSeconds(s.lastAttemptMs)}`;
}

function webhookRows(list: readonly WebhookView[]): string {
  return table(
    [{ header: 'ID' }, { header: 'URL' }, { header: 'EVENTS' }, { header: 'SECRET' }, { header: 'PENDING', align: 'right' }, { header: 'DELIVERED', align: 'right' }, { header: 'FAILED', align: 'right' }, { header: 'LAST ATTEMPT' }],
    list.map((w) => [w.id, w.url, eventsText(w.events), w.secretPrefix, String(w.stats.pending), String(w.stats.delivered), String(w.stats.failed), lastText(w)]),
  );
}

function deliveryRows(list: readonly DeliveryView[]): string {
  return table(
    [{ header: 'ID', align: 'right' }, { header: 'EVENT' }, { header: 'KIND' }, { header: 'STATE' }, { header: 'ATTEMPTS', align: 'right' }, { header: 'CREATED' }, { header: 'NEXT / DONE' }, { header: 'LAST' }],
    list.map((d) => [String(d.id), d.eventId, d.kind, d.state, String(d.attempts), isoSeconds(d.createdMs), isoSeconds(d.state === 'pending' ? d.nextAttemptMs : d.doneMs), d.lastError ?? (d.lastStatus === null ? '-' : String(d.lastStatus))]),
  );
}

function registerAdd(webhooks: Command, context: CliContext): void {
  webhooks
    .command('add')
    .description('add a URL that receives events, signed with its own secret (printed once)')
    .argument('<url>', 'an http:// or https:// URL (a Slack incoming webhook works as is)')
    .option('--events <list>', `event kinds, comma-separated: ${webhookEventKinds.join(', ')} (default: every kind)`, parseEventsArg)
    .option('--secret <secret>', `the signing secret, ${contractLimits.webhookSecretCharsMin} to ${contractLimits.webhookSecretCharsMax} characters (default: a new one)`)
    .action(async (url: string, flags: { events?: string[]; secret?: string }) => {
      const added = value(await (await context.backend('write')).addWebhook({ url, events: flags.events, secret: flags.secret }));
      const w = added.webhook;
      await context.emit(
        () => ({ ok: true, webhook: webhookToJson(w), secret: added.secret }),
        () =>
          [
            `Added ${w.id}: ${w.url}`,
            `  events  ${w.events === null ? `every kind (${webhookEventKinds.join(', ')})` : w.events.join(', ')}`,
            '',
            'The signing secret, shown only now (verify each delivery\'s Bursar-Signature header with it):',
            `  ${added.secret}`,
            '',
            `Send a test event: bursar webhooks test ${w.id}`,
          ].join('\n'),
      );
    });
}

/** `bursar webhooks <name> <id>`: a command on one webhook. */
function webhookCommand(webhooks: Command, name: string, description: string): Command {
  return webhooks.command(name).description(description).argument('<id>', 'webhook id (wh_…)');
}

function registerTest(webhooks: Command, context: CliContext): void {
  webhookCommand(webhooks, 'test', 'send a signed test event to a webhook now and show what the receiver answered (exit 1 unless 2xx)')
    .action(async (id: string) => {
      const { result } = value(await (await context.backend('write')).testWebhook(id));
      if (!result.delivered) context.setExitCode(1);
      await context.emit(
        () => ({ ok: result.delivered, ...webhookTestToJson(result) }),
        () =>
          result.delivered
            ? `${id} answered ${result.status} in ${result.durationMs} ms: the test event ${result.eventId} was delivered.`
            : `${id} did not take the test event ${result.eventId}: ${result.error ?? 'no answer'}.`,
      );
    });
}

function registerDeliveries(webhooks: Command, context: CliContext): void {
  webhookCommand(webhooks, 'deliveries', 'a webhook\'s deliveries, newest first: pending, delivered and given up')
    .addOption(new Option('--state <state>', 'only deliveries in this state').choices(['pending', 'delivered', 'failed']))
    .option('--limit <n>', `how many (default ${contractLimits.webhookDeliveriesDefault}, at most ${contractLimits.webhookDeliveriesMax})`, parseCountArg('--limit', contractLimits.webhookDeliveriesMax, 'invalid_limit'))
    .action(async (id: string, flags: { state?: DeliveryState; limit?: number }) => {
      const { deliveries } = value(await (await context.backend('read')).webhookDeliveries(id, flags));
      await context.emit(
        () => ({ deliveries: deliveries.map(deliveryToJson) }),
        () => (deliveries.length === 0 ? `No deliveries${flags.state === undefined ? '' : ` ${flags.state}`} for ${id}.` : deliveryRows(deliveries)),
      );
    });
}

/**
 * Adds `bursar webhooks add|list|remove|test|deliveries`.
 *
 * @example
 * registerWebhooks(program, context);
 */
export function registerWebhooks(program: Command, context: CliContext): void {
  const webhooks = program.command('webhooks').description('URLs that receive threshold alerts and breaker trips, signed, retried until delivered');
  registerAdd(webhooks, context);
  addListCommand(webhooks, context, {
    description: 'every webhook with its deliveries: pending, delivered, given up, and the last attempt (never the secret)',
    read: (backend) => backend.listWebhooks(),
    key: 'webhooks',
    toJson: webhookToJson,
    table: webhookRows,
    none: 'No webhooks yet. Add one with: bursar webhooks add https://example.com/bursar',
  });
  webhookCommand(webhooks, 'remove', 'remove a webhook; deliveries still queued for it are dropped')
    .action(async (id: string) => {
      const { dropped } = value(await (await context.backend('write')).removeWebhook(id));
      await context.emit(
        () => ({ ok: true, removed: id, dropped_pending: dropped }),
        () => `Removed ${id}${dropped > 0 ? ` and ${dropped} queued ${dropped === 1 ? 'delivery' : 'deliveries'}` : ''}.`,
      );
    });
  registerTest(webhooks, context);
  registerDeliveries(webhooks, context);
}
