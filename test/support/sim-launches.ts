import type { LaunchRequest } from '../../functions/ports/fleet.ts';
import type { World } from '../../local/world/world.ts';

/** When each launch of a simulated run was asked for (virtual ms). */
export function launchTimes(world: World): number[] {
  return world.fleet.calls
    .filter((call) => call.method === 'launch')
    .map((call) => world.agenda.msOf((call.detail as LaunchRequest).createdAt));
}
