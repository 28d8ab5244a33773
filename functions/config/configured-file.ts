import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';

/**
 * The text of a file the configuration points at. One that cannot be read is the user's to fix, not a failure
 * to retry: a {@link ConfigError} that starts with `named` (how the problem names the file) and gives the
 * system's error code (ENOENT, EACCES).
 */
export async function readConfiguredFile(path: string, named: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `${named} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
}
