/**
 * What every `stepscale` command shares: its IO, its usage error, and option parsing that turns node's
 * parseArgs errors into usage errors (exit 2). Each command lives in its own module and is listed in the command
 * table of stepscale.ts.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';

  /** `usage`: the command's own usage text, printed with the message (the overall usage when absent). */
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Waits between polls of a running execution; tests pass one that returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The time; tests pass a fixed one. */
  readonly now?: () => Date;
}

export interface Command {
  /** Its line in the overall usage: how it is called, and what it does. */
  readonly synopsis: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, strict; a bad option or a missing value is a {@link UsageError} carrying the command's usage. */
export function parseCommandArgs<O extends Options>(
  args: readonly string[],
  options: O,
  usage: string,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

export const sleepFor = (io: CliIo) =>
  io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

export const nowFor = (io: CliIo) => io.now ?? (() => new Date());
