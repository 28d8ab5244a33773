/**
 * The ScaleSetPort of a process that has no Actions-service client: every pool polls (jobSource `poll`), or
 * the caller does not touch scale sets. It says scale sets are not served and refuses everything else, so a
 * call that should not happen fails loudly instead of doing nothing.
 */
import { ScaleSetsUnsupportedError } from '../errors.ts';
import type { ScaleSetPort } from '../ports/scale-sets.ts';

const refuse = async (): Promise<never> => {
  throw new ScaleSetsUnsupportedError('No runner scale set client here: every pool polls (jobSource poll)');
};

export const noScaleSets: ScaleSetPort = {
  probe: async () => false,
  runnerGroupId: refuse,
  findScaleSet: refuse,
  getScaleSet: refuse,
  createScaleSet: refuse,
  deleteScaleSet: refuse,
  createSession: refuse,
  refreshSession: refuse,
  deleteSession: refuse,
  getMessage: refuse,
  deleteMessage: refuse,
  acquireJobs: refuse,
  generateJitConfig: refuse,
  getRunner: refuse,
  removeRunner: refuse,
};
