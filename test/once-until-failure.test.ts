import { describe, expect, it } from 'vitest';
import { onceUntilFailure } from '../functions/once-until-failure.ts';

describe('Function: onceUntilFailure', () => {
  it('loads once for every caller, concurrent or later, with the first call’s arguments', async () => {
    const calls: string[] = [];
    const get = onceUntilFailure(async (name: string) => {
      calls.push(name);
      return `loaded ${name}`;
    });
    expect(await Promise.all([get('a'), get('b')])).toEqual(['loaded a', 'loaded a']);
    expect(await get('c')).toBe('loaded a');
    expect(calls).toEqual(['a']);
  });

  it('loads again after a failure, which every caller waiting on it sees', async () => {
    let attempts = 0;
    const get = onceUntilFailure(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('unreadable');
      return attempts;
    });
    const first = [get(), get()];
    for (const waiting of first) await expect(waiting).rejects.toThrow('unreadable');
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
    expect(attempts).toBe(2);
  });
});
