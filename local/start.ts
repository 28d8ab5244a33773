// `npm start [-- --scenario FILE] [--faults] [--job-source poll|scaleset|auto] [--sfn-endpoint URL [--lambda-port N]]`:
// watch stepscale scale a local stand-in organization, cycle by cycle — on the embedded executor, or on Step
// Functions Local.
import './polyfills.ts';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLocal } from './local-run.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    faults: { type: 'boolean', default: false },
    'job-source': { type: 'string' },
    'sfn-endpoint': { type: 'string' },
    'lambda-port': { type: 'string' },
  },
  strict: true,
});
const scenarioPath = values.scenario ?? fileURLToPath(new URL('./scenarios/demo.json', import.meta.url));
const jobSource = values['job-source'];
if (jobSource !== undefined && jobSource !== 'poll' && jobSource !== 'scaleset' && jobSource !== 'auto') {
  console.error(`npm start: --job-source must be poll, scaleset or auto, not "${jobSource}"`);
  process.exit(2);
}
const lambdaPort = values['lambda-port'] === undefined ? undefined : Number(values['lambda-port']);
if (lambdaPort !== undefined && !(Number.isInteger(lambdaPort) && lambdaPort > 0 && lambdaPort < 65536)) {
  console.error(`npm start: --lambda-port must be a port number, not "${values['lambda-port']}"`);
  process.exit(2);
}
const endpoint = values['sfn-endpoint'];
try {
  const result = await runLocal({
    scenarioPath,
    faults: values.faults,
    ...(jobSource ? { jobSource } : {}),
    ...(endpoint ? { sfn: { endpoint, ...(lambdaPort ? { lambdaPort } : {}) } } : {}),
  });
  process.exitCode = result.cycles.every((cycle) => cycle.status === 'SUCCEEDED') ? 0 : 1;
} catch (error) {
  if (!endpoint) throw error;
  // Step Functions Local unreachable, or refusing the definition: say which, without a stack trace.
  const { name, message } = error as Error;
  console.error(`npm start: Step Functions Local at ${endpoint}: ${name}: ${message}`);
  process.exitCode = 1;
}
