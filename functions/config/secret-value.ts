import { ConfigError } from '../errors.ts';

/**
 * The value inside a Secrets Manager secret: the whole secret (string or binary), or, when it holds JSON, its
 * string `field`. Error messages name the secret and its shape, never its content.
 */
export function secretValue(secret: unknown, secretName: string, field: string): string {
  const text =
    typeof secret === 'string'
      ? secret
      : secret instanceof Uint8Array
        ? new TextDecoder().decode(secret)
        : '';
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new ConfigError([`${secretName}: looks like JSON but does not parse`]);
    }
    const value = (parsed as Record<string, unknown>)[field];
    if (typeof value !== 'string' || !value.trim()) {
      throw new ConfigError([`${secretName}: JSON secret has no non-empty string "${field}" field`]);
    }
    return value.trim();
  }
  if (!trimmed) throw new ConfigError([`${secretName}: secret is empty`]);
  return trimmed;
}
