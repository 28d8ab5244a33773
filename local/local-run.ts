/**
 * The local scaling run behind `npm start`: the scenario played on the simulated world (local/world/), whose
 * GitHub is served by the stand-in on 127.0.0.1 (GHES URL layout) and whose EC2 and runner configs are the
 * fleet and store the handlers use, and the real state machine with the real handlers, cycle after cycle in
 * virtual time.
 */
import { countGitHubAttempts, MemoryMetrics } from '../functions/observability/metrics.ts';
import '../functions/executor/polyfills.ts';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { createRegistrationTokenSource } from '../functions/adapters/github-registration-token.ts';
import { MemoryCycleStarter } from '../functions/adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../functions/adapters/no-scale-sets.ts';
import { createScaleSetClient } from '../functions/adapters/scaleset-client.ts';
import { poolTable } from '../functions/cli/table.ts';
import { parseConfig, scaleSetPools, scalingPolicyOf, writeIntervalMs } from '../functions/config/config.ts';
import {
  type CycleRunOptions,
  type CycleRunResult,
  runCycle,
  toCycleEvent,
} from '../functions/executor/cycle-runner.ts';
import type { DecideOutput } from '../functions/handlers/decide.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { readHeldPools } from '../functions/handlers/held-pools.ts';
import { ScaleSetListener } from '../functions/listener/scale-set-listener.ts';
import { type CycleEvent, TraceFormatter } from '../functions/observability/cycle-trace.ts';
import { createLogger, type Log } from '../functions/observability/logger.ts';
import type { CycleStartRequest } from '../functions/ports/cycle-starter.ts';
import { createWebhookReceiver } from '../functions/webhook/receiver.ts';
import { throttleFirstLaunch, transientGitHubFaults } from './faults.ts';
import { isActionsServicePath } from './github-standin/actions-service.ts';
import { type RecordedRequest, startGitHubStandin } from './github-standin/server.ts';
import { type DeliveryAnswer, sendDelivery } from './github-standin/webhook-sender.ts';
import { startLambdaEndpoint } from './lambda-endpoint.ts';
import { loadScenario, type Scenario } from './scenario.ts';
import { Narration, worldForScenario } from './scenario-world.ts';
import { createLocalStateMachine, localSfnClient, runCycleOnSfn } from './sfn-local.ts';
import { startWebhookReceiver } from './webhook-receiver-server.ts';
import type { MemoryFleet } from './world/fleet.ts';
import type { GitHubState } from './world/github.ts';
import type { MemoryRunnerConfigStore } from './world/runner-configs.ts';
import type { WebhookDelivery } from './world/webhooks.ts';
import type { World, WorldObserver } from './world/world.ts';

export interface LocalRunOptions {
  readonly scenarioPath: string;
  /** Where the readable trace goes (console by default). */
  readonly print?: (line: string) => void;
  readonly log?: Log;
  /** Inject transient GitHub and EC2 failures (local/faults.ts); the result must not change. */
  readonly faults?: boolean;
  /** Looks into each cycle's run on the embedded executor (scripts/record-executions.ts records them as AWS would). */
  readonly tap?: (cycle: CycleTap) => Pick<CycleRunOptions, 'wrapTask' | 'onEvent'>;
  /** Run the cycles on Step Functions Local instead of the embedded executor (local/sfn-local.ts). */
  readonly sfn?: SfnLocalOptions;
  /**
   * How the pools learn their demand (the scenario's config otherwise). With `scaleset` or `auto` the stand-in
   * serves runner scale sets and the listener runs between cycles, starting cycles of its own.
   */
  readonly jobSource?: 'poll' | 'scaleset' | 'auto';
  /** Watches the world as it lives (tests). */
  readonly observe?: WorldObserver;
  /**
   * The webhook fast path (default on): the stand-in POSTs signed `workflow_job` deliveries to the receiver on a
   * local port, and the cycles the receiver starts run between the scheduled ones. Off: the schedule alone.
   */
  readonly webhooks?: boolean;
}

export interface SfnLocalOptions {
  /** Step Functions Local's endpoint, e.g. http://localhost:8083. */
  readonly endpoint: string;
  /** Where the Lambda endpoint listens for Step Functions Local's invocations (default 3001 on all addresses). */
  readonly lambdaPort?: number;
  readonly lambdaHost?: string;
  /** A client of one's own (tests); by default one for `endpoint`. */
  readonly client?: SFNClient;
  /** Between polls of an execution's history. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A cycle as either executor ran it. */
export type LocalCycleResult = CycleRunResult<CycleEvent>;

interface CycleExecutor {
  /** Printed before the first cycle. */
  readonly description: string;
  run(cycle: CycleTap & { onEvent: (event: CycleEvent) => void }): Promise<LocalCycleResult>;
  close(): Promise<void>;
}

export interface CycleTap {
  /** 0 for the first cycle. */
  readonly index: number;
  readonly cycleId: string;
  /** A started cycle's targets: a delivery's repositories, the listener's scale sets (none: a scheduled cycle). */
  readonly targets?: CycleRunOptions['targets'];
  /** The world's (virtual) clock. */
  readonly now: () => Date;
}

export interface LocalRunResult {
  /** The scheduled cycles, in order. */
  readonly cycles: LocalCycleResult[];
  /** The cycles webhook deliveries started, in order. */
  readonly webhookCycles: LocalCycleResult[];
  /** Every delivery the stand-in sent, and the receiver's answer. */
  readonly deliveries: DeliveryAnswer[];
  readonly world: World;
  readonly fleet: MemoryFleet;
  readonly runnerConfigs: MemoryRunnerConfigStore;
  readonly github: GitHubState;
  /** Every request the stand-in served, in order. */
  readonly requests: readonly RecordedRequest[];
  /** What the handlers measured: the metrics they publish in Lambda. */
  readonly metrics: MemoryMetrics;
  /** The cycles the scale set listener started (with jobSource scaleset or auto), in order. */
  readonly listenerCycles: LocalCycleResult[];
}

const localToken = 'local-standin-token';
const localWebhookSecret = 'local-webhook-secret';

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const scenario = await loadScenario(options.scenarioPath);
  // The world names runners after the stack; the config's GitHub URL is the stand-in's, known once it listens.
  const world = worldForScenario(scenario, configOf(scenario, 'https://github.example.com').stack);
  const narration = new Narration(world);
  if (options.observe) world.observe(options.observe);
  const clock = world.agenda;
  const startMs = clock.now().getTime();
  const githubFaults = options.faults ? transientGitHubFaults() : undefined;
  const standin = await startGitHubStandin({
    state: world.github,
    pathPrefix: '/api/v3',
    token: localToken,
    // GitHub's secondary limits, on the run's virtual clock (writes are paced in virtual time too).
    secondaryLimits: { now: () => clock.now().getTime() },
    ...(githubFaults ? { faults: (request: RecordedRequest) => githubFaults.hook(request) } : {}),
    // Virtual time: a poll without a message answers 202 at once, and the run polls again a second later.
    actions: { service: world.actions, longPollMs: 0 },
  });
  try {
    // The stand-in is laid out like GitHub Enterprise Server, so the config names its web URL and the
    // API URL is derived exactly as it would be for a real GHES host.
    const webUrl = standin.url.replace(/\/api\/v3\/?$/, '');
    const config = configOf(scenario, webUrl, options.jobSource);
    const { fleet, runnerConfigs, github } = world;
    const listening = scaleSetPools(config).length > 0;
    const starter = new MemoryCycleStarter();
    const fleetPort = options.faults ? throttleFirstLaunch(fleet) : fleet;
    const stateStore = new MemoryStateStore(clock.now);
    const metrics = new MemoryMetrics();
    const deps: HandlerDeps = {
      config,
      policy: scalingPolicyOf(config),
      github: createGitHubAdapter({
        minWriteIntervalMs: 0, // the write budget below paces writes in virtual time
        apiUrl: config.github.apiUrl,
        org: config.github.org,
        token: localToken,
        stateStore, // conditional requests, as in Lambda with DynamoDB
        onAttempt: countGitHubAttempts(metrics),
        // Retry waits (retry-after, backoff) in milliseconds instead of seconds: time is virtual here.
        ...(options.faults ? { retry: { retryAfterBaseValue: 1 } } : {}),
      }),
      fleet: fleetPort,
      runnerConfigs,
      stateStore,
      webhookInbox: new MemoryWebhookInbox(clock.now),
      scaleSets: listening
        ? createScaleSetClient({
            apiUrl: config.github.apiUrl,
            configUrl: `${webUrl}/${scenario.org}`,
            registrationToken: createRegistrationTokenSource({
              apiUrl: config.github.apiUrl,
              org: config.github.org,
              auth: { type: 'token', token: localToken },
            }),
            now: clock.now,
            retryBaseMs: 1,
          })
        : noScaleSets,
      cycleStarter: starter,
      writeBudget: new MemoryWriteBudget(writeIntervalMs(config), clock.now),
      log: options.log ?? createLogger({ logLevel: 'SILENT' }),
      now: clock.now,
      // Waiting for a write slot lets the world live through it (instances boot meanwhile).
      sleepUntil: async (at) => world.advanceTo(at.getTime() - startMs),
      metrics,
    };

    const cycles: LocalCycleResult[] = [];
    const webhookCycles: LocalCycleResult[] = [];
    const deliveries: DeliveryAnswer[] = [];
    const webhooks = options.webhooks ?? true;
    const arrived: WebhookDelivery[] = [];
    if (webhooks) world.webhooks.subscribe((delivery) => arrived.push(delivery));
    const starts: CycleStartRequest[] = [];
    let claims = 0;
    const receiver = webhooks
      ? await startWebhookReceiver(
          createWebhookReceiver({
            config,
            secret: async () => localWebhookSecret,
            deliveries: stateStore,
            inbox: deps.webhookInbox,
            cycles: {
              start: async (request) => {
                starts.push(request);
                return 'started';
              },
            },
            heldPools: () => readHeldPools(stateStore, clock.now(), config.collection.cycleIntervalSeconds),
            log: deps.log,
            now: clock.now,
            newId: () => `local-claim-${++claims}`,
          }),
        )
      : undefined;
    print(`stepscale local run — ${scenario.description}`);
    print(
      `GitHub stand-in at ${config.github.apiUrl} (org ${scenario.org}, ${scenario.repositories.length} repositories)`,
    );
    print(
      `Pools: ${config.pools.map((p) => `${p.name} [${p.labels.join(',')}] max ${p.maxRunners}, minIdle ${p.minIdle}`).join('; ')}`,
    );

    const executor = options.sfn ? await sfnExecutor(options.sfn, deps) : embeddedExecutor(deps, options.tap);
    const listenerCycles: LocalCycleResult[] = [];
    const listener = listening
      ? new ScaleSetListener(
          { ...deps, log: listenerNarration(print, () => clock.now().getTime() - startMs) },
          { holder: 'local-listener', deadline: new Date(startMs + 24 * 3600_000) },
        )
      : undefined;
    const at = () => `+${((clock.now().getTime() - startMs) / 1000).toFixed(1)}s`;
    /** Runs a cycle, printing its trace as it goes. */
    const traced = (run: (onEvent: (event: CycleEvent) => void) => Promise<LocalCycleResult>) => {
      const trace = new TraceFormatter();
      return run((event) => {
        const line = trace.format(event);
        if (line) print(line);
        // What the world did while the registrations waited for their write slots.
        if (event.type === 'StateExited' && event.state.name === 'RegisterRunners') {
          printHappenings(print, narration.drain(), '      · ');
        }
      });
    };
    /** The deliveries that arrived go to the receiver, and the cycles it starts run. */
    const deliverArrived = async () => {
      if (!receiver) return;
      printHappenings(print, narration.drain());
      for (const delivery of arrived.splice(0)) {
        const answer = await sendDelivery(receiver.url, localWebhookSecret, delivery);
        deliveries.push(answer);
        const job = delivery.payload.workflow_job;
        const changedAt = Date.parse(job.completed_at ?? job.started_at ?? job.created_at);
        const outcome = (JSON.parse(answer.body) as { outcome?: string }).outcome ?? '';
        print(
          `  ⇢ webhook ${at()}: workflow_job ${delivery.action} ${delivery.payload.repository.name} [${job.labels.join(',')}] ` +
            `(${((delivery.deliveredAtMs + startMs - changedAt) / 1000).toFixed(1)} s after it happened) → ${answer.status} ${outcome}`,
        );
      }
      for (const start of starts.splice(0)) {
        await runStarted(
          start,
          `Webhook cycle at ${at()} for ${start.input.targets.repositories.join(', ')} (${start.input.cycleId})`,
          webhookCycles,
          1000,
        );
      }
    };
    /** A cycle something started between the scheduled ones: run, kept in `results`, its trace printed. */
    const runStarted = async (
      start: CycleStartRequest,
      heading: string,
      results: LocalCycleResult[],
      indexBase: number,
    ) => {
      print('');
      print(`━━ ${heading} ━━`);
      const index = indexBase + results.length;
      const { cycleId, targets } = start.input;
      const result = await traced((onEvent) =>
        executor.run({ index, cycleId, targets, now: clock.now, onEvent }),
      );
      results.push(result);
      printSummary(print, result);
    };
    /** The listener's polls (until no message is left), and each cycle it starts run. */
    const listen = async (active: ScaleSetListener) => {
      for (const pool of active.pools) {
        while ((await active.poll(pool)).kind === 'message') {}
      }
      await active.flushCycleStart();
      for (const start of starter.take()) {
        printHappenings(print, narration.drain());
        await runStarted(
          start,
          `Cycle started by the listener at +${Math.round(clock.elapsedMs / 1000)}s for ${start.input.targets.scaleSets?.join(', ')} (${start.name})`,
          listenerCycles,
          2000,
        );
      }
    };
    /**
     * The world goes on until `untilMs`: deliveries on the way go to the receiver, and the cycles it starts run;
     * with a listener, it polls the stand-in every (virtual) second and the cycles it starts run too.
     */
    const liveUntil = async (untilMs: number) => {
      for (;;) {
        const stepMs = listener ? Math.min(untilMs, clock.elapsedMs + 1000) : untilMs;
        world.advanceTo(stepMs, () => arrived.length > 0);
        if (arrived.length > 0) await deliverArrived();
        if (listener) await listen(listener);
        if (clock.elapsedMs >= untilMs && arrived.length === 0) return;
      }
    };
    try {
      print(executor.description);
      if (receiver)
        print(
          `Webhook receiver at ${receiver.url}: the stand-in delivers workflow_job events to it, signed.`,
        );
      if (listener) {
        print(
          `Job source: ${config.jobSource}; the scale set listener polls the stand-in every second between cycles`,
        );
        await listener.open();
      }
      for (const [index, at] of scenario.cycles.entries()) {
        await liveUntil(at * 1000);
        printHappenings(print, narration.drain());
        const cycleId = clock.now().toISOString();
        print('');
        print(`━━ Cycle ${index + 1} of ${scenario.cycles.length} at +${at}s (${cycleId}) ━━`);
        const result = await traced((onEvent) => executor.run({ index, cycleId, now: clock.now, onEvent }));
        cycles.push(result);
        printSummary(print, result);
      }
      // The listener's last minute: what the last scheduled cycle left to do.
      if (listener) {
        await liveUntil(clock.elapsedMs + 60_000);
        printHappenings(print, narration.drain());
        await listener.close(true);
      }
    } finally {
      await executor.close();
      await receiver?.close();
    }
    print('');
    print(
      `Done: ${scenario.cycles.length} scheduled cycles, ${webhookCycles.length} started by webhooks ` +
        `(${deliveries.length} deliveries)${listener ? `, ${listenerCycles.length} started by the listener` : ''}, ` +
        `${restRequests(standin.requests)} GitHub requests${listener ? ` (REST; ${standin.requests.length - restRequests(standin.requests)} to the Actions service)` : ''}, ${fleet.live().length} instances live.`,
    );
    if (githubFaults && 'throttled' in fleetPort) {
      print(
        `Faults injected: ${githubFaults.injected} GitHub requests failed once (retried by the client), ` +
          `${fleetPort.throttled} launches throttled once (retried by the state machine).`,
      );
    }
    return {
      cycles,
      webhookCycles,
      listenerCycles,
      deliveries,
      world,
      fleet,
      runnerConfigs,
      github,
      requests: standin.requests,
      metrics,
    };
  } finally {
    await standin.close();
  }
}

/** Requests to GitHub's REST API (the Actions service behind scale sets is not). */
function restRequests(requests: readonly RecordedRequest[]): number {
  return requests.filter((request) => !isActionsServicePath(request.path)).length;
}

function configOf(scenario: Scenario, webUrl: string, jobSource?: LocalRunOptions['jobSource']) {
  return parseConfig({
    ...scenario.config,
    github: { url: webUrl, org: scenario.org },
    ...(jobSource ? { jobSource } : {}),
  });
}

/** The listener's log as console lines: what it learns and what it starts; its warnings too. */
function listenerNarration(print: (line: string) => void, elapsedMs: () => number): Log {
  const at = () => `+${Math.round(elapsedMs() / 1000)}s`;
  const fields = (value: unknown) => (value ?? {}) as Record<string, unknown>;
  return {
    debug: () => {},
    info: (message: string, extra?: unknown) => {
      const f = fields(extra);
      if (message === 'Scale set message')
        print(
          `  ${at()} listener: ${f.pool} message #${f.messageId} ${Object.entries(fields(f.jobs))
            .map(([type, n]) => `${type} ×${n}`)
            .join(', ')}; assigned ${f.assignedJobs}, running ${f.runningJobs}`,
        );
      else if (message === 'Listening to the scale set' || message.startsWith('Created the runner scale set'))
        print(`  ${at()} listener: ${message.toLowerCase()} ${f.pool} (id ${f.scaleSetId})`);
    },
    warn: (message: string) => print(`  ${at()} listener warning: ${message}`),
    error: (message: string) => print(`  ${at()} listener error: ${message}`),
  } as unknown as Log;
}

function printHappenings(
  print: (line: string) => void,
  happenings: readonly string[],
  prefix = '  · ',
): void {
  if (happenings.length === 0) return;
  const nested = prefix.startsWith('      ');
  if (!nested) print('');
  print(nested ? '      world, meanwhile:' : '  world:');
  for (const line of happenings) print(`${prefix}${line}`);
}

/** The embedded executor (aws-local-stepfunctions), in this process. */
function embeddedExecutor(deps: HandlerDeps, tap: LocalRunOptions['tap']): CycleExecutor {
  return {
    description: 'Executor: the real ASL on aws-local-stepfunctions, in this process, in virtual time.',
    async run({ index, cycleId, targets, now, onEvent }) {
      const taps = tap?.({ index, cycleId, now });
      const result = await runCycle({
        deps,
        cycleId,
        ...(targets ? { targets } : {}),
        ...(taps?.wrapTask ? { wrapTask: taps.wrapTask } : {}),
        onEvent: (event) => {
          taps?.onEvent?.(event);
          const cycleEvent = toCycleEvent(event);
          if (cycleEvent) onEvent(cycleEvent);
        },
      });
      return { ...result, events: cycleEventsOf(result) };
    },
    close: async () => undefined,
  };
}

function cycleEventsOf(result: CycleRunResult): CycleEvent[] {
  return result.events.flatMap((event) => toCycleEvent(event) ?? []);
}

/**
 * Step Functions Local: the state machine created there, its Task invocations answered by the Lambda endpoint
 * in this process (the world lives here), each cycle an execution followed through its history.
 */
async function sfnExecutor(options: SfnLocalOptions, deps: HandlerDeps): Promise<CycleExecutor> {
  const lambda = await startLambdaEndpoint({
    deps,
    port: options.lambdaPort ?? 3001,
    host: options.lambdaHost ?? '0.0.0.0',
  });
  try {
    const client = options.client ?? localSfnClient(options.endpoint);
    const run = new Date().toISOString().replace(/[:.]/g, '-');
    const stateMachineArn = await createLocalStateMachine(client, { name: `stepscale-local-${run}` });
    return {
      description:
        `Executor: Step Functions Local at ${options.endpoint}, state machine ${stateMachineArn}; its Lambda tasks ` +
        `answered at ${lambda.url} (the image's LAMBDA_ENDPOINT must reach port ${lambda.port} of this host).`,
      async run({ index, cycleId, targets, now, onEvent }) {
        return runCycleOnSfn(client, {
          stateMachineArn,
          cycleId,
          ...(targets ? { targets } : {}),
          startedAt: now(),
          // Execution names may not contain ':'.
          executionName: `cycle-${index + 1}-${run}`,
          onEvent,
          ...(options.sleep ? { sleep: options.sleep } : {}),
        });
      },
      close: () => lambda.close(),
    };
  } catch (error) {
    await lambda.close();
    throw error;
  }
}

function printSummary(print: (line: string) => void, result: LocalCycleResult): void {
  const plan = result.output.plan as Pick<DecideOutput, 'pools'> | undefined;
  print('');
  if (result.status === 'FAILED')
    print(`  Cycle FAILED: ${result.error?.name} — ${String(result.error?.cause)}`);
  if (plan?.pools) print(poolTable(plan.pools));
  const demand = result.output.demand as { unmatched?: number } | undefined;
  if (demand?.unmatched)
    print(`  (${demand.unmatched} queued job(s) match no pool: GitHub-hosted or other labels)`);
}
