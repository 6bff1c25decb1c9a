import { parentPort } from 'node:worker_threads';
import type { JobHandlers } from '@fedsim/runtime';
const x: number = 1;
const r = await import('@fedsim/runtime');
const resolved = import.meta.resolve('@fedsim/runtime');
parentPort!.postMessage({ ok: x, resolved, hasFlowFailed: typeof r.FlowFailedError, execArgv: process.execArgv });
export type T = JobHandlers;
