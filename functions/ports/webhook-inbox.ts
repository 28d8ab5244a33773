/**
 * Where webhook deliveries leave the repositories whose jobs were queued, for the next targeted cycle to scan.
 * Deliveries that arrive close together share one execution: the first to post when none is starting starts
 * one; the others only add their repository. The execution takes everything posted so far at its start and,
 * in the same atomic step, lets the next delivery start another; so a repository posted after the take starts
 * (or joins) a later execution and none is left out. A scheduled cycle takes the inbox too, so nothing lingers
 * when an execution never ran; and a cycle whose scan of some of them failed puts those back.
 */
export interface WebhookInbox {
  /**
   * Adds `repository`. Resolves `true` when the caller should start an execution (none is starting), in which
   * case the inbox counts one as starting until `startingUntil` or until {@link take}.
   */
  post(repository: string, startingUntil: Date): Promise<boolean>;
  /** The caller could not start the execution it was told to: let the next delivery start one. */
  startFailed(): Promise<void>;
  /** Everything posted so far, emptied, and no execution counted as starting any more. */
  take(): Promise<string[]>;
  /**
   * Repositories a cycle took but could not scan (their batch failed): back in, for the next cycle of any kind,
   * without starting one or changing whether one is starting.
   */
  putBack(repositories: readonly string[]): Promise<void>;
}
