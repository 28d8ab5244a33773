/**
 * Loads local/cycle-runner.ts (the real ASL on aws-local-stepfunctions), made fit for hundreds of cycles.
 *
 * aws-local-stepfunctions validates the definition (asl-validator) every time a StateMachine is built, and
 * asl-validator builds a fresh Ajv with all its JSON schemas on every call and compiles them again: ~200 ms
 * per cycle, for the same definition every time. Here the Ajv class asl-validator uses hands out one instance
 * per identical set of options and schemas, so the schemas are compiled once per process. Every definition is
 * still validated, with the same schemas and formats; only the compilation is reused.
 */
import { createRequire } from 'node:module';

type CycleRunnerModule = typeof import('../../local/cycle-runner.ts');

let loaded: Promise<CycleRunnerModule> | undefined;

export function loadCycleRunner(): Promise<CycleRunnerModule> {
  loaded ??= (async () => {
    reuseAjvInstances();
    return import('../../local/cycle-runner.ts');
  })();
  return loaded;
}

type AjvClass = (new (options?: Record<string, unknown>) => object) & { default?: unknown; reused?: boolean };

function reuseAjvInstances(): void {
  try {
    const fromRoot = createRequire(import.meta.url);
    const fromPackage = createRequire(fromRoot.resolve('aws-local-stepfunctions'));
    const fromValidator = createRequire(fromPackage.resolve('asl-validator'));
    const Ajv = fromValidator('ajv') as AjvClass;
    const Real = Ajv.default as AjvClass;
    if (Real.reused) return;
    const instances = new Map<string, object>();
    const schemaIds = new WeakMap<object, number>();
    let nextId = 0;
    const idOf = (schema: object) => {
      let id = schemaIds.get(schema);
      if (id === undefined) {
        id = ++nextId;
        schemaIds.set(schema, id);
      }
      return id;
    };
    // A constructor that returns an object makes `new` evaluate to that object.
    function Reused(options?: Record<string, unknown>): object {
      const { schemas, ...rest } = options ?? {};
      const ids = Array.isArray(schemas) ? schemas.map((schema: object) => idOf(schema)).join(',') : '';
      const key = `${JSON.stringify(rest)}|${ids}`;
      let instance = instances.get(key);
      if (!instance) {
        instance = keywordsOnce(new Real(options));
        instances.set(key, instance);
      }
      return instance;
    }
    Object.assign(Reused, { reused: true });
    Ajv.default = Reused;
  } catch {
    // Not fatal: cycles are only slower.
  }
}

interface KeywordHost {
  addKeyword(definition: unknown, ...rest: unknown[]): unknown;
  getKeyword(keyword: string): unknown;
}

/** Plugins (ajv-formats) add their keywords on every validation; a reused instance has them already. */
function keywordsOnce<T extends object>(instance: T): T {
  const host = instance as unknown as KeywordHost;
  const add = host.addKeyword.bind(host);
  host.addKeyword = (definition: unknown, ...rest: unknown[]) => {
    const named =
      typeof definition === 'string' ? definition : (definition as { keyword?: string | string[] })?.keyword;
    const names = Array.isArray(named) ? named : named === undefined ? [] : [named];
    if (names.length > 0 && names.every((name) => host.getKeyword(name))) return host;
    return add(definition, ...rest);
  };
  return instance;
}
