// Bundles every entry point with esbuild (ESM, Node 22 target: what Lambda runs). Output: dist/.
// - dist/cli/stepscale.mjs: the CLI (bin/stepscale.js);
// - dist/lambda/<name>.mjs: one per function in template.yaml, read from its Metadata.BuildProperties.EntryPoints,
//   so this build and `sam build` always bundle the same entry points.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { build } from 'esbuild';
import { yamlParse } from 'yaml-cfn';

const template = yamlParse(await readFile(new URL('../template.yaml', import.meta.url), 'utf8'));
const lambdaEntryPoints = Object.values(template.Resources)
  .filter((resource) => resource.Type === 'AWS::Serverless::Function')
  .flatMap((resource) => resource.Metadata?.BuildProperties?.EntryPoints ?? []);
if (lambdaEntryPoints.length === 0) throw new Error('template.yaml names no function entry points');

const entryPoints = {
  'cli/stepscale': 'functions/cli/main.ts',
  ...Object.fromEntries(lambdaEntryPoints.map((path) => [`lambda/${basename(path, extname(path))}`, path])),
};

const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  minify: true,
  // The ES module builds of the AWS SDK and other dependencies, which esbuild can tree-shake; their CommonJS
  // builds (Node's default) are single files that come along whole.
  mainFields: ['module', 'main'],
  // As SAM builds them (template.yaml: Minify true, which cannot keep names): the error names the state machine
  // matches are string literals (functions/errors.ts), so nothing depends on class names.
  outExtension: { '.js': '.mjs' },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'info',
};

const { 'cli/stepscale': cli, ...lambdas } = entryPoints;
// The CLI runs where node_modules are (Node 20 needs undici to trust a private CA); the functions run on Node 22,
// whose own TLS defaults take the CA bundle, and leave undici out as template.yaml's External does.
await build({ ...common, entryPoints: { 'cli/stepscale': cli } });
await build({ ...common, entryPoints: lambdas, external: ['undici'] });
