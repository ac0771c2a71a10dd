/**
 * How a spend token is presented over HTTP: `Authorization: Bearer bsr_…` (the OpenAI SDK) or
 * `x-api-key: bsr_…` (the Anthropic SDK). The first present wins.
 *
 * @example
 * presentedSecret({ authorization: 'Bearer bsr_abc' }) // 'bsr_abc'
 * presentedSecret({ 'x-api-key': 'bsr_abc' }) // 'bsr_abc'
 */
export function presentedSecret(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' ? key.trim() : undefined;
}
