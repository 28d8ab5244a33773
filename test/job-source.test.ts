import { describe, expect, it } from 'vitest';
import { parseConfig } from '../functions/config/config.ts';
import { chooseSource, listensFor, type ScaleSetState } from '../functions/core/job-source.ts';
import { claimingPools, resolveSources } from '../functions/handlers/job-sources.ts';

const now = new Date('2026-01-05T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
const statistics = {
  assignedJobs: 2,
  runningJobs: 1,
  availableJobs: 0,
  registeredRunners: 1,
  busyRunners: 1,
  idleRunners: 0,
};
const fresh: ScaleSetState = {
  name: 'linux-x64',
  scaleSetId: 7,
  available: true,
  statistics,
  statisticsAt: ago(30),
  updatedAt: ago(30),
};

describe('chooseSource', () => {
  it.each([
    // setting, state, source, viaScaleSet, reason contains
    ['poll', fresh, 'poll', false, 'jobSource poll'],
    ['scaleset', fresh, 'scaleset', true, 'scale set linux-x64'],
    ['auto', fresh, 'scaleset', true, 'scale set linux-x64'],
    ['scaleset', undefined, 'none', false, 'listener'],
    ['auto', undefined, 'poll', false, 'not reported yet'],
    ['scaleset', { ...fresh, statisticsAt: ago(600) }, 'none', true, '600 s old'],
    ['auto', { ...fresh, statisticsAt: ago(600) }, 'none', true, '600 s old'],
    ['auto', { ...fresh, available: false, note: 'runner-registration 404' }, 'poll', false, '404'],
    ['scaleset', { ...fresh, available: false, note: 'runner-registration 404' }, 'none', false, '404'],
    ['auto', { ...fresh, labelsDropped: true }, 'poll', false, 'only its name'],
    ['scaleset', { ...fresh, labelsDropped: true }, 'scaleset', true, 'runs-on its name'],
    ['scaleset', { ...fresh, statistics: undefined }, 'none', true, 'no statistics'],
  ] as const)('%s with %o: %s', (setting, state, source, viaScaleSet, reason) => {
    // Act
    const choice = chooseSource(setting, state, now, 180);

    // Assess
    expect(choice).toMatchObject({ source, viaScaleSet });
    expect(choice.reason).toContain(reason);
    if (viaScaleSet) expect(choice.scaleSetId).toBe(7);
  });
});

describe('listensFor', () => {
  it('listens for scale-set pools, and for auto ones unless the scale set is unusable there', () => {
    expect(listensFor('poll', fresh)).toBe(false);
    expect(listensFor('scaleset', undefined)).toBe(true);
    expect(listensFor('auto', undefined)).toBe(true);
    expect(listensFor('auto', { ...fresh, labelsDropped: true })).toBe(false);
    expect(listensFor('scaleset', { ...fresh, labelsDropped: true })).toBe(true);
  });
});

describe('resolveSources', () => {
  const config = parseConfig({
    github: { url: 'https://github.com', org: 'acme' },
    jobSource: 'scaleset',
    pools: [
      {
        name: 'linux-x64',
        labels: ['self-hosted', 'linux', 'x64'],
        maxRunners: 4,
        instanceTypes: ['m7i.large'],
        launchTemplate: 'lt-0123456789abcdef0',
        subnets: ['subnet-0a'],
      },
    ],
  });

  it.each([
    // state, source, claims the polled jobs it serves
    [fresh, 'scaleset', true],
    [{ ...fresh, labelsDropped: true }, 'scaleset', false], // GitHub routes only runs-on: <name> to it
    [{ ...fresh, statisticsAt: ago(600) }, 'none', false], // nobody is acquiring for it
    [undefined, 'none', false],
  ] as const)('%o: %s, claims %s', (state, source, claims) => {
    // Act
    const sources = resolveSources(config, new Map(state ? [['linux-x64', state]] : []), now, false);

    // Assess
    expect(sources['linux-x64']).toMatchObject({ source });
    expect(sources['linux-x64']?.claims === true).toBe(claims);
    expect(claimingPools(sources).has('linux-x64')).toBe(claims);
  });

  it('polls nothing in a cycle the listener started: a polled pool is not observed there', () => {
    const polled = parseConfig({ ...config, jobSource: 'poll' });
    expect(resolveSources(polled, new Map(), now, true)['linux-x64']).toMatchObject({ source: 'none' });
    expect(resolveSources(polled, new Map(), now, false)['linux-x64']).toMatchObject({ source: 'poll' });
  });
});
