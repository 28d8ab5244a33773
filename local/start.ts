// `npm start [-- --scenario FILE] [--faults] [--job-source poll|scaleset|auto] [--no-webhooks]
// [--sfn-endpoint URL [--lambda-port N]]`: watch stepscale scale a local stand-in organization, cycle by cycle — on
// the embedded executor, or on Step Functions Local. The stand-in sends signed workflow_job deliveries to the local
// receiver, whose cycles run between the scheduled ones; --no-webhooks: the schedule alone. With --job-source
// scaleset or auto the stand-in serves runner scale sets and the listener's cycles run between them too.
import '../functions/executor/polyfills.ts';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLocal } from './local-run.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    faults: { type: 'boolean', default: false },
    'job-source': { type: 'string' },
    'no-webhooks': { type: 'boolean', default: false },
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
    webhooks: !values['no-webhooks'],
    ...(endpoint ? { sfn: { endpoint, ...(lambdaPort ? { lambdaPort } : {}) } } : {}),
  });
  const all = [...result.cycles, ...result.webhookCycles, ...result.listenerCycles];
  process.exitCode = all.every((cycle) => cycle.status === 'SUCCEEDED') ? 0 : 1;
} catch (error) {
  if (!endpoint) throw error;
  // Step Functions Local unreachable, or refusing the definition: say which, without a stack trace.
  const { name, message } = error as Error;
  console.error(`npm start: Step Functions Local at ${endpoint}: ${name}: ${message}`);
  process.exitCode = 1;
}
