/**
 * The error names the state machine matches (functions/errors.ts) are string literals: bundled and minified,
 * as a Lambda bundle might be, every error still carries its own name. test/statemachine.test.ts checks that
 * every name the ASL's Retry and Catch match is one of these.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as errors from '../functions/errors.ts';

type Module = Record<string, unknown>;
type ErrorClass = new (...args: unknown[]) => Error;

/** Classes never thrown themselves: they only give their subclasses a shape. */
const bases = new Set(['StepscaleError', 'FleetError']);

/** Every error class a module exports, by export name, constructed with arguments of the right shape. */
function thrownErrors(module: Module): { exported: string; error: Error; classNamed: string }[] {
  const base = module.StepscaleError as ErrorClass;
  return Object.entries(module)
    .filter(([exported, value]) => !bases.has(exported) && typeof value === 'function')
    .filter(([, value]) => (value as ErrorClass).prototype instanceof base)
    .map(([exported, value]) => {
      const ErrorType = value as ErrorClass;
      const error = exported === 'ConfigError' ? new ErrorType(['a problem']) : new ErrorType('a message');
      return { exported, error, classNamed: ErrorType.name };
    });
}

async function minifiedErrorsModule(): Promise<Module> {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('../functions/errors.ts', import.meta.url))],
    bundle: true,
    minify: true,
    keepNames: false,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    write: false,
    logLevel: 'silent',
  });
  const file = join(await mkdtemp(join(tmpdir(), 'stepscale-errors-')), 'errors.min.mjs');
  await writeFile(file, bundled.outputFiles[0]?.text ?? '');
  return (await import(pathToFileURL(file).href)) as Module;
}

describe('Module: errors', () => {
  it('names every error after itself, with a literal', () => {
    const found = thrownErrors(errors);
    expect(found.length).toBeGreaterThan(10);
    for (const { exported, error } of found) expect(error.name, exported).toBe(exported);
  });

  it('keeps every name when minified, though the minifier renames the classes', async () => {
    // Prepare
    const minified = await minifiedErrorsModule();

    // Act
    const found = thrownErrors(minified);

    // Assess: the same errors, each with its own name…
    expect(found.map(({ exported }) => exported).sort()).toEqual(
      thrownErrors(errors)
        .map(({ exported }) => exported)
        .sort(),
    );
    for (const { exported, error } of found) expect(error.name, exported).toBe(exported);
    // …while a name taken from the class would have changed: the minifier did rename them (the positive
    // control that this test could catch a derived name at all).
    const renamed = found.filter(({ exported, classNamed }) => classNamed !== exported);
    expect(renamed.length).toBeGreaterThan(0);
  });
});
