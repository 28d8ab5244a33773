/**
 * Plausible repository names for scale tests and benchmarks: one to three words from a team's vocabulary,
 * sometimes a number (17 characters on average), deterministic for a given count. Sequential names such as
 * `repo-00001` would compress far better than real ones and flatter the payload measurements.
 */
const words = (
  'api web app service core data platform infra auth billing payments search mobile ios android frontend ' +
  'backend gateway worker scheduler pipeline analytics ml model docs tools cli sdk client server proxy cache ' +
  'queue events notifications email users accounts orders inventory catalog shipping reports dashboard admin ' +
  'monitoring logging metrics tracing config deploy terraform helm charts k8s operator'
).split(' ');

export function repositoryNames(count: number, seed = 1): string[] {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const names = new Set<string>();
  while (names.size < count) {
    const parts = Array.from(
      { length: 1 + Math.floor(random() * 3) },
      () => words[Math.floor(random() * words.length)],
    );
    if (random() < 0.3) parts.push(String(Math.floor(random() * 100)));
    names.add(parts.join('-'));
  }
  return [...names].sort();
}
