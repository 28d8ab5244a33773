/**
 * The parts of a `workflow_job` delivery the receiver reads (GitHub's webhook payload; recorded examples in
 * @octokit/webhooks-examples). Everything else in the payload is ignored, so GitHub adding fields changes
 * nothing; a payload without these parts is malformed.
 */
import * as z from 'zod';

const workflowJobPayload = z.object({
  action: z.string(),
  workflow_job: z.object({
    id: z.number().int(),
    run_id: z.number().int(),
    labels: z.array(z.string()),
    status: z.string(),
    runner_name: z.string().nullish(),
    /** When the job was queued, and when a runner started it (`in_progress` on): its wait is a metric. */
    created_at: z.string().nullish(),
    started_at: z.string().nullish(),
  }),
  repository: z.object({
    name: z.string().min(1),
    owner: z.object({ login: z.string().min(1) }),
  }),
});

export type WorkflowJobDelivery = z.infer<typeof workflowJobPayload>;

/** The delivery, or the first problem found (for the 400 answer; it names fields, never values). */
export function parseWorkflowJob(
  payload: unknown,
):
  | { readonly ok: true; readonly delivery: WorkflowJobDelivery }
  | { readonly ok: false; readonly problem: string } {
  const parsed = workflowJobPayload.safeParse(payload);
  if (parsed.success) return { ok: true, delivery: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'payload';
  return { ok: false, problem: `${where}: ${issue?.message ?? 'invalid'}` };
}
