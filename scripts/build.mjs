// Bundles every entry point with esbuild (ESM, Node 22 target: what Lambda runs). Output: dist/.
// - dist/cli/stepscale.mjs: the CLI (bin/stepscale.js);
// - dist/lambda/<name>.mjs: one per function in template.yaml, its entry point functions/lambda/<name>.ts
//   named by its Handler (<name>.handler).
// `node scripts/build.mjs --function <LogicalId> --outdir <dir>` bundles that one function into <dir>: what
// `sam build` runs for each function (the Makefile's build-<LogicalId> targets), so the bundles SAM deploys
// and the ones this script measures and tests are built the same way.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { yamlParse } from 'yaml-cfn';
import { inlineSchemaKeysPlugin } from './inline-schema-keys.mjs';

const { values } = parseArgs({ options: { function: { type: 'string' }, outdir: { type: 'string' } } });
if ((values.function === undefined) !== (values.outdir === undefined)) {
  throw new Error('--function <LogicalId> and --outdir <dir> go together');
}

const template = yamlParse(await readFile(new URL('../template.yaml', import.meta.url), 'utf8'));
const functions = Object.entries(template.Resources).filter(
  ([, resource]) => resource.Type === 'AWS::Serverless::Function',
);
if (functions.length === 0) throw new Error('template.yaml declares no function');

/** `list-repositories.handler` → the bundle `list-repositories` from functions/lambda/list-repositories.ts. */
function bundleOf(id, resource) {
  const match = /^([a-z0-9-]+)\.handler$/.exec(resource.Properties?.Handler ?? '');
  if (!match)
    throw new Error(`${id}: Handler must be <name>.handler, a bundle built from functions/lambda/<name>.ts`);
  return [match[1], `functions/lambda/${match[1]}.ts`];
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  // Minified: the error names the state machine's Retry/Catch match are string literals (functions/errors.ts),
  // so nothing depends on class names, and a smaller bundle starts faster.
  minify: true,
  // The ES module builds of the AWS SDK and other dependencies, which esbuild can tree-shake; their CommonJS
  // builds (Node's default) are single files that come along whole.
  mainFields: ['module', 'main'],
  plugins: [inlineSchemaKeysPlugin],
  outExtension: { '.js': '.mjs' },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: values.function ? 'warning' : 'info',
};
// The functions run on Node 22, whose own TLS defaults take a GHES CA bundle: undici, which Node 20 needs for
// it (adapters/github-tls.ts), is left out of their bundles.
const lambda = { ...common, external: ['undici'] };

if (values.function) {
  const found = functions.find(([id]) => id === values.function);
  if (!found) {
    throw new Error(
      `template.yaml has no function ${values.function}; it has ${functions.map(([id]) => id).join(', ')}`,
    );
  }
  const [name, entry] = bundleOf(...found);
  await build({ ...lambda, outdir: values.outdir, entryPoints: { [name]: entry } });
} else {
  // The CLI runs where node_modules are (Node 20 needs undici to trust a private CA).
  await build({ ...common, outdir: 'dist', entryPoints: { 'cli/stepscale': 'functions/cli/main.ts' } });
  const entryPoints = Object.fromEntries(
    functions
      .map(([id, resource]) => bundleOf(id, resource))
      .map(([name, entry]) => [`lambda/${name}`, entry]),
  );
  await build({ ...lambda, outdir: 'dist', entryPoints });
}
