// `npm start [-- --scenario FILE]`: watch stepscale scale a local stand-in organization, cycle by cycle.
import './polyfills.ts';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLocal } from './local-run.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    faults: { type: 'boolean', default: false },
    'job-source': { type: 'string' },
  },
  strict: true,
});
const scenarioPath = values.scenario ?? fileURLToPath(new URL('./scenarios/demo.json', import.meta.url));
const jobSource = values['job-source'];
if (jobSource !== undefined && jobSource !== 'poll' && jobSource !== 'scaleset' && jobSource !== 'auto') {
  console.error(`--job-source must be poll, scaleset or auto, not "${jobSource}"`);
  process.exit(2);
}
const result = await runLocal({ scenarioPath, faults: values.faults, ...(jobSource ? { jobSource } : {}) });
process.exitCode = result.cycles.every((cycle) => cycle.status === 'SUCCEEDED') ? 0 : 1;
