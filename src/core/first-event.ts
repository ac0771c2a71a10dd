/** Anything that emits named events and lets a listener go again: a stream, a response, `process`. */
export interface Emitter {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Resolves with the first of `events` the source emits, once the listeners on all of them are
 * removed again: one wait, nothing left attached.
 *
 * @example
 * await firstEvent(process, ['SIGINT', 'SIGTERM']); // Ctrl-C or a stop signal
 */
export function firstEvent<E extends string>(source: Emitter, events: readonly E[]): Promise<E> {
  return new Promise((resolve) => {
    const listeners = events.map((event) => ({ event, listener: () => settle(event) }));
    const settle = (event: E) => {
      for (const l of listeners) source.off(l.event, l.listener);
      resolve(event);
    };
    for (const l of listeners) source.on(l.event, l.listener);
  });
}
