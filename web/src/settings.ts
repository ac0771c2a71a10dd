import type { Unit } from './money.js';
import type { LevelThresholds } from './trend.js';

/**
 * Display preferences, kept in this browser's localStorage (they hold no secret): the money
 * unit, the colour thresholds of agent cards, and when a cost per request counts as high.
 */
export interface Settings extends LevelThresholds {
  unit: Unit;
  /** A mean cost per request above this is flagged on the card. */
  requestHighMicros: number;
}

export const settingsDefault: Settings = {
  unit: { kind: 'usd', microsPerCredit: 10_000 },
  yellowMicros: 1_000_000,
  redMicros: 5_000_000,
  requestHighMicros: 50_000,
};

const storageKey = 'bursar.dashboard.settings';

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/**
 * Settings from stored JSON; anything missing or malformed takes its default.
 *
 * @example
 * settingsFrom('{"yellowMicros":2000000}').yellowMicros // 2000000
 */
export function settingsFrom(json: string | null): Settings {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = json === null ? {} : JSON.parse(json);
    if (parsed !== null && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    raw = {};
  }
  const unit = (raw.unit ?? {}) as Record<string, unknown>;
  const yellowMicros = positiveInt(raw.yellowMicros, settingsDefault.yellowMicros);
  return {
    unit: { kind: unit.kind === 'credits' ? 'credits' : 'usd', microsPerCredit: positiveInt(unit.microsPerCredit, settingsDefault.unit.microsPerCredit) },
    yellowMicros,
    redMicros: Math.max(yellowMicros, positiveInt(raw.redMicros, settingsDefault.redMicros)),
    requestHighMicros: positiveInt(raw.requestHighMicros, settingsDefault.requestHighMicros),
  };
}

export function loadSettings(): Settings {
  try {
    return settingsFrom(localStorage.getItem(storageKey));
  } catch {
    return settingsDefault;
  }
}

export function saveSettings(s: Settings): void {
  try {
    localStorage.setItem(storageKey, JSON.stringify(s));
  } catch {
    // Storage may be disabled; the settings then last until the page is closed.
  }
}
