/** The webhook inbox in one process (local runs, tests, and a receiver deployed without a state table). */
import type { WebhookInbox } from '../ports/webhook-inbox.ts';

export class MemoryWebhookInbox implements WebhookInbox {
  private readonly repositories = new Set<string>();
  private startingUntil = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  async post(repository: string, startingUntil: Date): Promise<boolean> {
    this.repositories.add(repository);
    if (this.startingUntil > this.now().getTime()) return false;
    this.startingUntil = startingUntil.getTime();
    return true;
  }

  async startFailed(): Promise<void> {
    this.startingUntil = 0;
  }

  async putBack(repositories: readonly string[]): Promise<void> {
    for (const repository of repositories) this.repositories.add(repository);
  }

  async take(): Promise<string[]> {
    const taken = [...this.repositories].sort();
    this.repositories.clear();
    this.startingUntil = 0;
    return taken;
  }
}
