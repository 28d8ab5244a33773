import { expect } from 'vitest';
import { ConfigError } from '../../functions/errors.ts';

/** The problems a thrown ConfigError lists; fails the test when something else was thrown. */
function problemsListedBy(error: unknown): readonly string[] {
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

const nothingThrown = () => new Error('expected a ConfigError, but nothing was thrown');

/** The problems a ConfigError lists; fails the test when something else (or nothing) is thrown. */
export function problemsOf(act: () => unknown): readonly string[] {
  try {
    act();
  } catch (error) {
    return problemsListedBy(error);
  }
  throw nothingThrown();
}

/** As problemsOf, for an act that rejects rather than throws. */
export async function asyncProblemsOf(act: () => Promise<unknown>): Promise<readonly string[]> {
  try {
    await act();
  } catch (error) {
    return problemsListedBy(error);
  }
  throw nothingThrown();
}
