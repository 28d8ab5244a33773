import * as stepscaleErrors from '../../functions/errors.ts';
import { StepscaleError } from '../../functions/errors.ts';

/** The names of the errors stepscale raises: every StepscaleError class functions/errors.ts exports. */
export function stepscaleErrorNames(): Set<string> {
  return new Set(
    Object.values(stepscaleErrors)
      .filter((value) => typeof value === 'function' && value.prototype instanceof StepscaleError)
      .map((value) => (value as { name: string }).name),
  );
}

/** Whether an ErrorEquals name is one of ours rather than one Step Functions or Lambda defines. */
export const isOurErrorName = (name: string) => !/^(States|Lambda)\./.test(name);
