import { Logger } from '@aws-lambda-powertools/logger';

/** The logging surface handlers and adapters use; Powertools' Logger satisfies it. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * JSON logs via Powertools. Level comes from POWERTOOLS_LOG_LEVEL (Lambda) unless given; the
 * service name is fixed so every line can be found by `service = stepscale`.
 */
export function createLogger(
  options: { logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' } = {},
): Logger {
  return new Logger({
    serviceName: 'stepscale',
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
}

/** A logger that drops everything (tests, and local runs that print their own trace). */
export const silentLog: Log = createLogger({ logLevel: 'SILENT' });
