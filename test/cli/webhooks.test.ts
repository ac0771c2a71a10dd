import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startApi, type ApiServer } from '../api/api-harness.js';
import { signatureVerifies, startReceiver, type Receiver } from '../support/webhook-receiver.js';
import { runInProcess, tempDb, type CliRun, type TempDb } from './cli-harness.js';

/** `bursar webhooks`: the same commands and the same refusals on a local database and through a server. */

let t: TempDb;
let api: ApiServer;
let receiver: Receiver;

beforeAll(async () => {
  t = tempDb();
  api = await startApi();
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.stop();
  await api.close();
  t.remove();
});

const targets: [string, (...args: string[]) => Promise<CliRun>][] = [
  ['a local database', (...args) => t.cli(...args)],
  ['a server', (...args) => runInProcess(args, { BURSAR_URL: api.url, BURSAR_ADMIN_KEY: adminKey })],
];

describe.each(targets)('bursar webhooks on %s', (_name, cli) => {
  it('exits 2 with the message for a bad URL, an unknown event and an empty secret; 1 for an unknown id', async () => {
    // Proves the CLI shows the operations' refusal as one line and a non-zero exit, whichever backend answers.
    const cases: [string[], number, string][] = [
      [['webhooks', 'add', 'ftp://example.com/x'], 2, 'bursar: bad_request: url: must be http:// or https://, not ftp://\n'],
      [['webhooks', 'add', 'https://example.com/x', '--events', 'alert,breaker_trip'], 2, 'bursar: bad_request: events: unknown event "breaker_trip"; did you mean breaker_tripped? (the events are alert, breaker_tripped, breaker_closed)\n'],
      [['webhooks', 'add', 'https://example.com/x', '--secret', ''], 2, 'bursar: bad_request: secret: cannot be empty; leave it out to have one generated\n'],
      [['webhooks', 'remove', 'wh_doesnotexist0'], 1, 'bursar: unknown_webhook: no webhook wh_doesnotexist0; bursar webhooks list shows them\n'],
      [['webhooks', 'test', 'nope'], 1, 'bursar: unknown_webhook: no webhook nope; bursar webhooks list shows them\n'],
    ];
    for (const [args, code, stderr] of cases) {
      const run = await cli(...args);
      expect([run.code, run.stderr], args.join(' ')).toEqual([code, stderr]);
    }
  });

  it('adds with the secret printed once, lists without it, tests, and removes', async () => {
    // Proves the whole round: the secret appears only in add's output, list shows its prefix and stats, test reports the answer.
    const added = await cli('webhooks', 'add', receiver.url, '--events', 'alert');
    expect(added.code).toBe(0);
    const secret = /whsec_[A-Za-z0-9]{32}/.exec(added.stdout)?.[0] ?? '';
    const id = /Added (wh_[A-Za-z0-9]+)/.exec(added.stdout)?.[1] ?? '';
    expect(added.stdout).toContain('shown only now');
    const list = await cli('webhooks', 'list');
    expect(list.stdout).toMatch(new RegExp(`^ID +URL +EVENTS +SECRET +PENDING +DELIVERED +FAILED +LAST ATTEMPT\\n${id} +${receiver.url} +alert +${secret.slice(0, 10)}… +0 +0 +0 +-`));
    expect(list.stdout).not.toContain(secret);

    const tested = await cli('--json', 'webhooks', 'test', id);
    const answer = JSON.parse(tested.stdout) as { ok: boolean; status: number; event_id: string };
    expect([tested.code, answer.ok, answer.status]).toEqual([0, true, 200]);
    const got = receiver.received.find((r) => r.eventId === answer.event_id);
    expect(got && signatureVerifies(secret, got.signature, got.body)).toBe(true);
    receiver.answer = () => 500;
    const failing = await cli('webhooks', 'test', id);
    receiver.answer = () => 200;
    expect([failing.code, failing.stdout]).toEqual([1, expect.stringMatching(new RegExp(`^${id} did not take the test event evt_test_\\w+: HTTP 500\\.\\n$`)) as unknown]);

    expect((await cli('webhooks', 'deliveries', id)).stdout).toBe(`No deliveries for ${id}.\n`);
    expect((await cli('webhooks', 'remove', id)).stdout).toBe(`Removed ${id}.\n`);
    expect((await cli('webhooks', 'list')).stdout).toContain('No webhooks yet.');
  });
});
