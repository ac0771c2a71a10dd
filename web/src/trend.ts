/**
 * How an agent's spending looks at a glance: the trend of its cost per request and the colour
 * of its session spend. Pure functions over integer micros.
 */

export type Direction = 'up' | 'down' | 'flat';

export interface Trend {
  direction: Direction;
  /** Mean cost per request over the window, in micros (rounded down). */
  averageMicros: number;
  requests: number;
}

/** A change smaller than this share of the older half's mean reads as flat. */
const flatPct = 10;

/**
 * The trend of the last requests' costs (oldest first): the mean of the newer half against the
 * mean of the older half; within ±10 % it is flat.
 *
 * @example
 * costTrend([100, 100, 200, 200]) // { direction: 'up', averageMicros: 150, requests: 4 }
 */
export function costTrend(costsMicros: readonly number[]): Trend {
  const n = costsMicros.length;
  const total = costsMicros.reduce((a, b) => a + b, 0);
  const averageMicros = n === 0 ? 0 : Math.floor(total / n);
  if (n < 2) return { direction: 'flat', averageMicros, requests: n };
  const half = Math.floor(n / 2);
  const older = costsMicros.slice(0, half);
  const newer = costsMicros.slice(n - half);
  const olderSum = older.reduce((a, b) => a + b, 0);
  const newerSum = newer.reduce((a, b) => a + b, 0);
  // Both halves have `half` items, so their sums compare as their means do; integers only.
  const delta = (newerSum - olderSum) * 100;
  if (delta > olderSum * flatPct) return { direction: 'up', averageMicros, requests: n };
  if (delta < -olderSum * flatPct) return { direction: 'down', averageMicros, requests: n };
  return { direction: 'flat', averageMicros, requests: n };
}

export const arrows: Record<Direction, string> = { up: '↗', down: '↘', flat: '→' };

export type Level = 'green' | 'yellow' | 'red';

/** Where the colours change: yellow from `yellowMicros`, red above `redMicros`. */
export interface LevelThresholds {
  yellowMicros: number;
  redMicros: number;
}

/**
 * The colour of a session's spend: green below the yellow threshold, red above the red one,
 * yellow between (both ends included).
 *
 * @example
 * levelOf(2_000_000, { yellowMicros: 1_000_000, redMicros: 5_000_000 }) // 'yellow'
 */
export function levelOf(micros: number, t: LevelThresholds): Level {
  if (micros > t.redMicros) return 'red';
  if (micros >= t.yellowMicros) return 'yellow';
  return 'green';
}
