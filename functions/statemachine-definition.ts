/**
 * Loads the state machine definition and applies DefinitionSubstitutions the way Step Functions
 * does (plain `${Name}` text replacement), refusing to leave any placeholder unresolved.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const definitionPath = fileURLToPath(
  new URL('../statemachine/scaling-cycle.asl.json', import.meta.url),
);

/** The runner scale set listener's state machine (statemachine/listener.asl.json). */
export const listenerDefinitionPath = fileURLToPath(
  new URL('../statemachine/listener.asl.json', import.meta.url),
);

const placeholder = /\$\{([A-Za-z0-9_]+)\}/g;

/** Every `${Name}` placeholder in a definition's text, sorted and unique. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(placeholder)].map((match) => match[1] as string))].sort();
}

export function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  const missing = placeholdersIn(text).filter((name) => !(name in substitutions));
  if (missing.length > 0) throw new Error(`No substitution for: ${missing.join(', ')}`);
  return text.replace(placeholder, (_, name: string) => substitutions[name] as string);
}

export async function loadDefinition(
  substitutions: Readonly<Record<string, string>>,
  path = definitionPath,
): Promise<Record<string, unknown>> {
  return JSON.parse(substitute(await readFile(path, 'utf8'), substitutions));
}
