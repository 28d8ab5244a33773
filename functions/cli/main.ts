// Entry point of the bundled CLI (dist/cli/stepscale.mjs); bin/stepscale.js runs the same main through tsx.
import { main } from './stepscale.ts';

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
