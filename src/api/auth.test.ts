import { describe, expect, it } from 'vitest';
import { AdminKeyError, adminKeysFromEnv, authenticate, authorize, KeyRing } from './auth.js';
import { WireError } from '../contract/index.js';

const fixedRandom = (n: number) => new Uint8Array(n).fill(7);

function refusal(fn: () => unknown): WireError {
  try {
    fn();
  } catch (error) {
    if (error instanceof WireError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('admin keys', () => {
  it('reads comma-separated admin and viewer keys and generates an admin key when none is set', () => {
    // Proves configuration: lists for rotation, and an API that is never open (a key is generated to print).
    const both = adminKeysFromEnv({ BURSAR_ADMIN_KEY: ' first-admin-key-123 , second-admin-key-45', BURSAR_VIEWER_KEY: 'viewer-key-0123456789' }, fixedRandom);
    expect(both).toEqual({ keys: { admin: ['first-admin-key-123', 'second-admin-key-45'], viewer: ['viewer-key-0123456789'] } });
    const none = adminKeysFromEnv({}, fixedRandom);
    expect(none.generated).toMatch(/^bak_[A-Za-z0-9]{40}$/);
    expect(none.keys.admin).toEqual([none.generated]);
  });

  it('refuses keys that are short, contain spaces, or look like spend tokens', () => {
    // Proves weak or confusing keys are a configuration error naming the variable, not a silent risk.
    expect(() => adminKeysFromEnv({ BURSAR_ADMIN_KEY: 'short' }, fixedRandom)).toThrow(/BURSAR_ADMIN_KEY: key 1 is shorter than 16/);
    expect(() => adminKeysFromEnv({ BURSAR_ADMIN_KEY: 'a-long-enough-key-1,has a space in it ok' }, fixedRandom)).toThrow(/key 2 may contain only printable/);
    expect(() => adminKeysFromEnv({ BURSAR_VIEWER_KEY: 'bsr_0123456789abcdefghij' }, fixedRandom)).toThrow(/BURSAR_VIEWER_KEY: key 1 starts with bsr_/);
    expect(() => adminKeysFromEnv({ BURSAR_ADMIN_KEY: 'short' }, fixedRandom)).toThrow(AdminKeyError);
    expect(() => new KeyRing({ admin: [], viewer: ['viewer-key-0123456789'] })).toThrow(AdminKeyError);
  });

  it('tells admin, viewer, unknown and spend-token credentials apart', () => {
    // Proves authentication and roles: each credential gets its principal or its 401/403 with a useful message.
    const ring = new KeyRing({ admin: ['admin-key-0123456789'], viewer: ['viewer-key-0123456789'] });
    expect(authenticate(ring, 'Bearer admin-key-0123456789').role).toBe('admin');
    expect(authenticate(ring, 'bearer   viewer-key-0123456789 ').role).toBe('viewer');
    expect(authenticate(ring, 'Bearer admin-key-0123456789').keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(refusal(() => authenticate(ring, undefined)).status).toBe(401);
    expect(refusal(() => authenticate(ring, 'Basic YWRtaW4=')).message).toMatch(/must be "Bearer <key>"/);
    expect(refusal(() => authenticate(ring, 'Bearer admin-key-012345678')).message).toBe('unknown admin API key');
    expect(refusal(() => authenticate(ring, 'Bearer bsr_ABCDEFGHIJKLMNOPQRSTUVWX')).message).toMatch(/admin routes need an admin key/);
    const viewer = authenticate(ring, 'Bearer viewer-key-0123456789');
    expect(refusal(() => authorize(viewer, 'admin'))).toMatchObject({ code: 'forbidden', status: 403 });
    expect(() => authorize(viewer, 'viewer')).not.toThrow();
  });
});
