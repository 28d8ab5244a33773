/**
 * The configuration reference, generated from the one config schema (its JSON Schema and its field
 * descriptions), so the documentation cannot drift from what is validated: `npm run docs` writes
 * docs/configuration.md and docs/config.schema.json, and a test fails when either is stale.
 */
import * as z from 'zod';
import { configSchema } from './config.ts';

interface JsonSchema {
  readonly type?: string | string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly oneOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly format?: string;
}

/** The config's JSON Schema (for editors and validation elsewhere), as `z.toJSONSchema` writes it. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input' }),
    title: 'stepscale configuration',
  };
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'object');
  const bounds: string[] = [];
  const min =
    schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + 1);
  if (min !== undefined && schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER)
    bounds.push(`${min}–${schema.maximum}`);
  else if (min !== undefined) bounds.push(`≥ ${min}`);
  if (schema.minItems !== undefined || schema.maxItems !== undefined)
    bounds.push(`${schema.minItems ?? 0}–${schema.maxItems ?? '∞'} items`);
  if (schema.format === 'uri') bounds.push('URL');
  const item = type === 'array' && schema.items ? ` of ${typeOf(schema.items)}` : '';
  return `${type}${item}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
}

function rowsOf(schema: JsonSchema, prefix: string, required: boolean): Row[] {
  const rows: Row[] = [];
  const own: Row = {
    key: prefix,
    type: schema.oneOf ? 'object' : typeOf(schema),
    required,
    default: schema.default === undefined ? '' : `\`${JSON.stringify(schema.default)}\``,
    description: schema.description ?? '',
  };
  const isLeaf = !schema.properties && !schema.oneOf && !schema.items?.properties;
  if (prefix !== '' && (isLeaf || schema.description)) rows.push(own);
  const children = (properties: Record<string, JsonSchema>, names: readonly string[], at: string) => {
    for (const [name, child] of Object.entries(properties)) {
      rows.push(...rowsOf(child, at ? `${at}.${name}` : name, names.includes(name)));
    }
  };
  if (schema.properties) children(schema.properties, schema.required ?? [], prefix);
  if (schema.items?.properties) children(schema.items.properties, schema.items.required ?? [], `${prefix}[]`);
  // A discriminated union: one row per field, the variant it belongs to in its meaning.
  const variants = schema.oneOf ?? [];
  const seen = new Map<string, Row>();
  for (const variant of variants) {
    const tag = variant.properties?.type?.const;
    for (const [name, child] of Object.entries(variant.properties ?? {})) {
      const key = `${prefix}.${name}`;
      const row = rowsOf(child, key, (variant.required ?? []).includes(name))[0];
      if (!row) continue;
      const earlier = seen.get(key);
      if (name === 'type' && earlier) {
        seen.set(key, {
          ...earlier,
          type: `${earlier.type} | ${row.type}`,
          description: `${earlier.description} ${row.type}: ${row.description}`,
        });
      } else if (name === 'type') {
        seen.set(key, { ...row, description: `${row.type}: ${row.description}` });
      } else {
        seen.set(key, { ...row, description: `With type ${JSON.stringify(tag)}: ${row.description}` });
      }
    }
  }
  rows.push(...seen.values());
  return rows;
}

const escapePipes = (text: string) => text.replaceAll('|', '\\|');

/** docs/configuration.md */
export function configurationMarkdown(): string {
  const schema = configJsonSchema() as JsonSchema;
  const rows = rowsOf(schema, '', true);
  const sections = new Map<string, Row[]>();
  for (const row of rows) {
    const section = row.key.split(/[.[ ]/)[0] ?? row.key;
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from functions/config/config.ts by `npm run docs`; a test fails when it is stale. -->',
    '',
    'One JSON document, validated once (`functions/config/config.ts`, zod): every problem is reported together, with',
    'its path, and nothing runs until it is fixed. Unknown keys are errors. The document holds no secret: `stepscale',
    'plan` reads the GitHub token from `GITHUB_TOKEN` (or an App key from `GITHUB_APP_PRIVATE_KEY[_FILE]`), the',
    'deployed functions from Secrets Manager. In Lambda, `github.url` and `github.org` come from the template',
    'parameters and `stack` from the stack name, so the document there only needs the pools and any settings.',
    'Its JSON Schema is [`config.schema.json`](config.schema.json), for editors.',
    '',
    '```json',
    '{',
    '  "github": { "url": "https://github.example.com", "org": "acme" },',
    '  "pools": [',
    '    {',
    '      "name": "linux-x64",',
    '      "labels": ["self-hosted", "linux", "x64"],',
    '      "maxRunners": 20,',
    '      "instanceTypes": ["m7i.large", "m6i.large"],',
    '      "launchTemplate": "lt-0123456789abcdef0",',
    '      "subnets": ["subnet-0a"]',
    '    }',
    '  ]',
    '}',
    '```',
  ];
  for (const [section, sectionRows] of sections) {
    const head = sectionRows[0];
    lines.push('', `## \`${section}\``, '');
    const leaf = sectionRows.length === 1;
    if (head?.key === section && head.description && !leaf) lines.push(head.description, '');
    lines.push('| key | type | default | meaning |', '| --- | --- | --- | --- |');
    for (const row of sectionRows) {
      if (row.key === section && row.type === 'object') continue;
      const key = `\`${row.key}\`${row.required ? ' (required)' : ''}`;
      lines.push(
        `| ${key} | ${escapePipes(row.type)} | ${escapePipes(row.default)} | ${escapePipes(row.description)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
