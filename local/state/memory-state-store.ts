/** The in-memory StateStore lives with the adapters (a Lambda without a state table uses it too). */
export { MemoryStateStore } from '../../functions/adapters/memory-state-store.ts';
