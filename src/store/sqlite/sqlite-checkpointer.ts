import { Worker } from 'node:worker_threads';

/** How often the background thread moves the write-ahead log into the database file. */
export const checkpointIntervalMsDefault = 200;

// Runs in a worker thread with its own connection: a PASSIVE checkpoint never blocks the
// writer, and its fsyncs happen off the event loop that answers reservations.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 1000 });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage(String(error && error.message)); }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL database from a worker thread, so the writer's commits never pay for
 * copying pages back and syncing (that made one commit in about a thousand take milliseconds).
 * The writer turns off its own automatic checkpoints while this runs.
 *
 * @example
 * const checkpointer = startCheckpointer('./bursar.db', require.resolve('better-sqlite3'));
 * await checkpointer.stop();
 */
export function startCheckpointer(path: string, driver: string, intervalMs = checkpointIntervalMsDefault): { stop(): Promise<void> } {
  const worker = new Worker(workerSource, { eval: true, workerData: { path, driver, intervalMs } });
  worker.unref();
  worker.on('error', () => undefined);
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        // Unreferenced while it runs (it must not keep a process alive), referenced while it
        // stops, so waiting for its exit keeps the event loop going.
        worker.ref();
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }),
  };
}
