// An esbuild plugin for the AWS SDK's generated schema modules (@aws-sdk/client-*/dist-es/schemas/*.js).
//
// Their trait objects use computed keys that name a module constant, `{ [_xN]: "Reservation" }` with
// `const _xN = "xmlName"`. esbuild cannot prove that evaluating a computed key has no side effect, so it keeps
// every statement holding one, and with them everything they reference: importing EC2Client alone brings in
// EC2's whole schema (≈ 540 KiB minified), whatever commands are used. Known upstream:
// https://github.com/aws/aws-sdk-js-v3/issues/7607 (fix proposed in smithy-lang/smithy-typescript#1889, which
// makes the generator write literal keys).
//
// This does what that fix does, at bundle time: a computed key naming a constant declared in the same module
// as a string literal becomes that literal. The objects are the same; only esbuild's view of them changes.
// Any other computed key is left as it is. test/bundle.test.ts checks that the rewritten module exports
// schemas equal to the original's.
import { readFile } from 'node:fs/promises';

export const schemaModule = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/][^\\/]+\.js$/;

/** The source with `[name]:` keys whose name is a module-level `const name = "literal";` written as the literal. */
export function inlineSchemaKeys(source) {
  const literals = new Map();
  for (const [, name, literal] of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) {
    literals.set(name, literal);
  }
  return source.replace(/\[(_\w+)\]:/g, (key, name) => {
    const literal = literals.get(name);
    return literal === undefined ? key : `${literal}:`;
  });
}

export const inlineSchemaKeysPlugin = {
  name: 'inline-aws-sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: schemaModule }, async (args) => ({
      contents: inlineSchemaKeys(await readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};
