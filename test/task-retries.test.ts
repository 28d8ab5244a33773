/**
 * What each Task state retries follows from the ports its handler declares (functions/handlers/index.ts): a
 * handler that reads or writes the state table can meet a DynamoDB throttle, which its adapters name
 * StateStoreUnavailableError, and a retry a few seconds later is what such a failure wants. Without it the
 * throttle fails the task, and a failed ScaleDown fails the whole cycle.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listenerTaskNeeds, taskNeeds } from '../functions/handlers/index.ts';

/** The ports whose adapters in Lambda are the state table. */
const tablePorts = ['stateStore', 'writeBudget', 'webhookInbox'];

interface TaskState {
  readonly Type: string;
  readonly Retry?: { readonly ErrorEquals: readonly string[] }[];
}

function taskStates(file: string): Map<string, TaskState> {
  const asl = JSON.parse(readFileSync(new URL(`../statemachine/${file}`, import.meta.url), 'utf8'));
  const found = new Map<string, TaskState>();
  const visit = (states: Record<string, TaskState & { ItemProcessor?: { States: never } }>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') found.set(name, state);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
    }
  };
  visit(asl.States);
  return found;
}

const machines = [
  ['scaling-cycle.asl.json', taskNeeds],
  ['listener.asl.json', listenerTaskNeeds],
] as const;

describe('Task retries', () => {
  it.each(machines)(
    '%s: every Task whose handler uses the state table retries StateStoreUnavailableError',
    (file, needs) => {
      const states = taskStates(file);
      const users = Object.entries(needs)
        .filter(([, ports]) => tablePorts.some((port) => port in ports))
        .map(([task]) => task);
      expect(users.length).toBeGreaterThan(0);
      for (const task of users) {
        const retried = states.get(task)?.Retry?.flatMap((retry) => retry.ErrorEquals) ?? [];
        expect(retried, task).toContain('StateStoreUnavailableError');
      }
    },
  );
});
