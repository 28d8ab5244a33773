import { ArcListenerStrategy } from './arc-listener.ts';
import { SeedBaselineStrategy } from './seed-baseline.ts';
import { StepscaleStrategy } from './stepscale.ts';
import { StepscaleScaleSetStrategy } from './stepscale-scaleset.ts';
import { StepscaleWebhookStrategy } from './stepscale-webhook.ts';
import { TfRunnerStrategy } from './tf-runner.ts';
import type { Strategy } from './types.ts';

/**
 * Every strategy the simulator knows, by name. A new one (a webhook fast path, say) implements {@link Strategy}
 * against the same ports and is added here; `npm run bench` then runs it on every workload.
 */
export const strategies: Record<string, () => Strategy> = {
  'seed-baseline': () => new SeedBaselineStrategy(),
  stepscale: () => new StepscaleStrategy(),
  'stepscale-webhook': () => new StepscaleWebhookStrategy(),
  'stepscale-scaleset': () => new StepscaleScaleSetStrategy(),
  'tf-runner': () => new TfRunnerStrategy(),
  'arc-listener': () => new ArcListenerStrategy(),
};

export const strategyNames = Object.keys(strategies);

export function createStrategy(name: string): Strategy {
  const factory = strategies[name];
  if (!factory) throw new Error(`unknown strategy "${name}" (known: ${strategyNames.join(', ')})`);
  return factory();
}

export type { Strategy, StrategyContext } from './types.ts';
