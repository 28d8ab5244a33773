/**
 * Repository batches as they travel through the state: names joined by newlines, Brotli-compressed, base64.
 *
 * Why compressed in the payload rather than stored under the cycle id: 10,000 names are ~200 KB of JSON, close
 * to Step Functions' 256 KiB per state. Packed they are ~55 KB (measured: 10,000 names of 17 characters on
 * average, in 40 batches of 250), with no extra I/O, nothing to clean up, and a retried or redriven iteration
 * reads exactly the batch it read the first time. Storing batches instead would add one store write per batch
 * and one read per Map iteration every cycle, and the DynamoDB store reads eventually consistently, so an
 * iteration could miss the batch written a second earlier. The price is a history whose batches are not
 * readable by eye; the collect task logs failing repositories by name.
 */

import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import * as z from 'zod';
import { chunks } from '../core/chunks.ts';

export interface PackedBatch {
  /** How many repositories the batch holds (RecordBatchFailure counts a failed batch with it). */
  readonly count: number;
  /** base64(brotli(names joined by "\n")). */
  readonly names: string;
}

/** Repositories one collect task may be handed (its Lambda has 25 s). */
export const maxRepositoriesPerBatch = 1000;

export const packedBatchSchema = z.object({
  count: z.int().min(0).max(maxRepositoriesPerBatch),
  names: z.string().max(200_000),
});

export function packBatch(names: readonly string[]): PackedBatch {
  const text = names.join('\n');
  const packed = brotliCompressSync(Buffer.from(text, 'utf8'), {
    params: {
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
      // Quality 5 packs 10,000 names in 9 ms to 55 KB; the default 11 takes 245 ms (on ListRepositories'
      // path, every cycle) to save 5 KB.
      [constants.BROTLI_PARAM_QUALITY]: 5,
    },
  });
  return { count: names.length, names: packed.toString('base64') };
}

export function unpackBatch(batch: PackedBatch): string[] {
  const text = brotliDecompressSync(Buffer.from(batch.names, 'base64')).toString('utf8');
  const names = text === '' ? [] : text.split('\n');
  if (names.length !== batch.count) {
    throw new RangeError(`Packed batch holds ${names.length} names, its count says ${batch.count}`);
  }
  return names;
}

/**
 * Repositories per batch: at least `minPerBatch`, and more as the organization grows so that a cycle never
 * has more than `maxBatches` Map iterations (each is ~7 history events on a Standard state machine).
 */
export function batchSizeFor(total: number, minPerBatch: number, maxBatches: number): number {
  return Math.min(maxRepositoriesPerBatch, Math.max(minPerBatch, Math.ceil(total / Math.max(1, maxBatches))));
}

export function packBatches(
  names: readonly string[],
  minPerBatch: number,
  maxBatches: number,
): PackedBatch[] {
  const size = batchSizeFor(names.length, minPerBatch, maxBatches);
  return chunks(names, size).map(packBatch);
}
