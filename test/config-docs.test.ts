/** The configuration reference is generated from the config schema: the committed copy must be current. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../functions/config/config.ts';
import { configJsonSchema, configurationMarkdown } from '../functions/config/config-docs.ts';

describe('docs/configuration.md and docs/config.schema.json', () => {
  it('are what `npm run docs` generates from the config schema (run it after changing the schema)', async () => {
    expect(await readFile('docs/configuration.md', 'utf8')).toBe(configurationMarkdown());
    expect(JSON.parse(await readFile('docs/config.schema.json', 'utf8'))).toEqual(configJsonSchema());
  });

  it('describe every key of the schema', () => {
    const markdown = configurationMarkdown();
    const keys = (shape: Record<string, unknown>, prefix: string): string[] =>
      Object.keys(shape).map((key) => (prefix ? `${prefix}.${key}` : key));
    for (const key of [
      ...keys(configSchema.shape, ''),
      'pools[].runnerGroup',
      'scaleDown.bootTimeoutSeconds',
    ])
      expect(markdown, key).toContain(`\`${key}\``);
    // No row without a meaning.
    expect(markdown).not.toMatch(/\| {2}\|\n/);
  });
});
