// `npm run docs`: regenerates the configuration reference from the config schema (docs/configuration.md,
// docs/config.schema.json). test/config-docs.test.ts fails when the committed files are stale.
import { writeFile } from 'node:fs/promises';
import { configJsonSchema, configurationMarkdown } from '../functions/config/config-docs.ts';

await writeFile('docs/configuration.md', configurationMarkdown());
await writeFile('docs/config.schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log('wrote docs/configuration.md and docs/config.schema.json');
