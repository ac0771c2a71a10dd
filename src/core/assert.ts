/** Thrown when a programmer error breaks an invariant: a bug, never an expected outcome. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Crashes the operation when `condition` is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/**
 * Throws an `InvariantError`. On hot paths `if (!condition) fail(\`…\`)` builds its message only
 * when the invariant breaks, where `assert` builds it on every call.
 */
export function fail(message: string): never {
  throw new InvariantError(message);
}
