import { describe, expect, it } from 'vitest';
import { costTrend, levelOf } from './trend.js';

describe('cost trend and level', () => {
  it('compares the newer half of the last requests with the older half, flat within 10 %', () => {
    // Proves the arrow of the agent card and the average of its tooltip.
    expect(costTrend([100, 100, 200, 200])).toEqual({ direction: 'up', averageMicros: 150, requests: 4 });
    expect(costTrend([300, 300, 100, 100])).toMatchObject({ direction: 'down' });
    expect(costTrend([100, 105, 108, 109])).toMatchObject({ direction: 'flat' });
    expect(costTrend([100, 999, 100])).toMatchObject({ direction: 'flat', averageMicros: 399 });
    expect(costTrend([500])).toEqual({ direction: 'flat', averageMicros: 500, requests: 1 });
    expect(costTrend([])).toEqual({ direction: 'flat', averageMicros: 0, requests: 0 });
  });

  it('colours green below $1, yellow from $1 to $5, red above $5', () => {
    // Proves the seed's levels with both ends of yellow included.
    const t = { yellowMicros: 1_000_000, redMicros: 5_000_000 };
    expect([999_999, 1_000_000, 5_000_000, 5_000_001].map((m) => levelOf(m, t))).toEqual(['green', 'yellow', 'yellow', 'red']);
  });
});
