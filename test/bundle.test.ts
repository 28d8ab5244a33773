/**
 * The Lambda bundles as scripts/build.mjs makes them (for `npm run build` and, through the Makefile, for
 * `sam build`): the AWS SDK's schema modules rewritten by scripts/inline-schema-keys.mjs describe exactly what
 * the originals describe, and a function's bundle keeps only the schemas its commands reach.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { inlineSchemaKeys, inlineSchemaKeysPlugin } from '../scripts/inline-schema-keys.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

describe('inlineSchemaKeys', () => {
  it('writes a computed key naming a string constant of the module as that string', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _eQN = "ec2QueryName";',
      'const _R = "Reservation";',
      'export var Reservation$ = [3, n0, _R, 0, [_R], [[0, { [_xN]: _R, [_eQN]: "ReservationId" }]]];',
    ].join('\n');
    expect(inlineSchemaKeys(source).split('\n').at(-1)).toBe(
      'export var Reservation$ = [3, n0, _R, 0, [_R], [[0, { "xmlName": _R, "ec2QueryName": "ReservationId" }]]];',
    );
  });

  it('leaves alone a key whose name is not such a constant: declared otherwise, or not in the module', () => {
    const source = [
      'let _l = "mutable";',
      'const _n = 7;',
      'const _s = "a\\"quote";',
      'export var X$ = [{ [_l]: 1, [_n]: 2, [_s]: 3, [_missing]: 4, [`_t`]: 5 }];',
    ].join('\n');
    expect(inlineSchemaKeys(source)).toBe(source);
  });
});

type Exports = Record<string, unknown>;

/** A module bundled alone (its dependencies inside it) and imported, with or without the plugin. */
async function importBundled(
  modulePath: string,
  plugins: Plugin[],
  dir: string,
  name: string,
): Promise<Exports> {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(modulePath)};`, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    plugins,
  });
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, result.outputFiles[0]?.text ?? '');
  return import(pathToFileURL(file).href);
}

/**
 * Whether two schema graphs are the same: arrays, objects and primitives compared member by member, the
 * `() => Shape$` thunks that tie shapes together followed (each pair once: the graph has cycles), classes by
 * name (each bundle has its own copy of the SDK), and the error registries by what they hold.
 */
function sameSchema(a: unknown, b: unknown, seen = new Set<unknown>()): boolean {
  if (typeof a !== typeof b) return false;
  if (a === null || typeof a !== 'object') {
    if (typeof a !== 'function') return Object.is(a, b);
    const fa = a as (...args: unknown[]) => unknown;
    const fb = b as (...args: unknown[]) => unknown;
    if (/^class\b/.test(fa.toString())) return fa.name === fb.name;
    return fa.length === 0 && fb.length === 0 && sameSchema(fa(), fb(), seen);
  }
  if (seen.has(a)) return true;
  seen.add(a);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map || b instanceof Map) {
    return a instanceof Map && b instanceof Map && sameSchema([...a.entries()], [...b.entries()], seen);
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b as object);
  return (
    keysA.length === keysB.length &&
    keysA.every((key, i) => key === keysB[i] && sameSchema((a as Exports)[key], (b as Exports)[key], seen))
  );
}

const require = createRequire(import.meta.url);
/** Each SDK client the functions use: its generated schema module, ES build. */
const clients = ['ec2', 'ssm', 'dynamodb', 'sfn', 'secrets-manager', 'cloudwatch-logs'].map((client) => {
  const packageJson = require.resolve(`@aws-sdk/client-${client}/package.json`);
  return [client, join(dirname(packageJson), 'dist-es/schemas/schemas_0.js')] as const;
});

describe('the SDK schema modules, rewritten', () => {
  it.each(clients)(
    'client-%s: every schema the rewritten module exports equals the original one',
    async (client, modulePath) => {
      const dir = await mkdtemp(join(tmpdir(), 'stepscale-schemas-'));
      const original = await importBundled(modulePath, [], dir, `${client}-original`);
      const rewritten = await importBundled(modulePath, [inlineSchemaKeysPlugin], dir, `${client}-rewritten`);
      expect(Object.keys(rewritten)).toEqual(Object.keys(original));
      expect(Object.keys(original).length).toBeGreaterThan(50);
      const differing = Object.keys(original).filter((name) => !sameSchema(original[name], rewritten[name]));
      expect(differing).toEqual([]);
      // The comparison can tell schemas apart: a shape against another is not the same.
      const [first, second] = Object.keys(original).filter((name) => name.endsWith('$'));
      expect(sameSchema(original[first ?? ''], rewritten[second ?? ''])).toBe(false);
    },
    60_000,
  );
});

describe('scripts/build.mjs --function (what the Makefile runs for `sam build`)', () => {
  it('bundles the one function, minified, without undici, and with only the EC2 schemas its commands reach', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-build-'));
    await run('node', ['scripts/build.mjs', '--function', 'ScaleDownFunction', '--outdir', dir], {
      cwd: root,
    });
    const bundle = await readFile(join(dir, 'scale-down.mjs'), 'utf8');
    expect(typeof (await import(pathToFileURL(join(dir, 'scale-down.mjs')).href)).handler).toBe('function');
    // Minified: a few long lines (the rest are template literals' own line breaks).
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
    // undici is imported, on Node < 22.19 only, from the runtime's node_modules: none of its code is inside.
    expect(bundle).not.toContain('UND_ERR_');
    // ScaleDown terminates instances; it never withdraws a BYOIP CIDR, whose schema stays out.
    expect(bundle).toContain('"TerminateInstances"');
    expect(bundle).not.toContain('WithdrawByoipCidr');
  }, 60_000);

  it('refuses a function the template does not declare, naming the ones it does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-build-'));
    const failed = run('node', ['scripts/build.mjs', '--function', 'NoSuchFunction', '--outdir', dir], {
      cwd: root,
    });
    await expect(failed).rejects.toThrow(
      /template\.yaml has no function NoSuchFunction; it has .*ScaleUpFunction/,
    );
    const half = run('node', ['scripts/build.mjs', '--function', 'ScaleUpFunction'], { cwd: root });
    await expect(half).rejects.toThrow(/--function <LogicalId> and --outdir <dir> go together/);
  }, 60_000);
});
