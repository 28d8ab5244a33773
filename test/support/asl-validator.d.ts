// asl-validator ships no types; this is the slice the tests use.
declare module 'asl-validator' {
  export default function validator(
    definition: unknown,
    options: { checkPaths: boolean; checkArn: boolean },
  ): { isValid: boolean; errors: unknown[] };
}
