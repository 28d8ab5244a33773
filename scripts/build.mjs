// Bundles every entry point with esbuild (ESM, Node 22 target: what Lambda runs). Output: dist/.
import { build } from 'esbuild';

const entryPoints = {
  'cli/stepscale': 'functions/cli/main.ts',
};

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: true,
  outExtension: { '.js': '.mjs' },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'info',
});
