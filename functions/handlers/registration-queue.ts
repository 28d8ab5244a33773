/**
 * Instances waiting for their runner registration, as they travel through the state: per pool, oldest first.
 * Decide queues those earlier cycles left unregistered, ScaleUp adds its launches, RegisterRunners works the
 * queue off.
 */
import * as z from 'zod';

export const registrationQueueSchema = z
  .array(
    z.object({
      pool: z.string().min(1),
      instanceIds: z.array(z.string().regex(/^i-[0-9a-f]{8,17}$/)).max(5000),
    }),
  )
  .max(100);

export interface RegistrationQueue {
  readonly pool: string;
  readonly instanceIds: string[];
}
