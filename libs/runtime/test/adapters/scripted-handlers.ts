import { NonRetryableError } from '../../src/errors/index.js';
import type { UntypedJobs } from '../../src/jobs/catalog.js';
import type { ChildContext, ChildKind, ChildOutcome, JobHandlers, ParentKind } from '../../src/ports/transport.js';

/** What a scripted child does, keyed into its payload. */
export type ChildScript =
  | { readonly do: 'ok'; readonly delayMs?: number }
  | { readonly do: 'failFirst'; readonly times: number }
  | { readonly do: 'fail' }
  /** fails with a non-retryable error: no attempt after the first */
  | { readonly do: 'invalid' }
  | { readonly do: 'hang' };

export interface ChildPayload {
  readonly flow: string;
  readonly child: string;
  readonly value: number;
  readonly script: ChildScript;
}

export interface ParentPayload {
  readonly flow: string;
  readonly fail?: boolean;
  /** fail with a non-retryable error */
  readonly invalid?: boolean;
}

/** What the scripted parent returns: a compact view of the outcomes it was given. */
export interface ParentSummary {
  readonly flow: string;
  readonly ids: string[];
  readonly values: (number | null)[];
  readonly errors: (string | null)[];
  readonly codes: (string | null)[];
}

/**
 * JobHandlers driven by the payload, recording every call so tests can count runs. Hanging
 * children wait for their abort signal or for release(), whichever comes first.
 */
export class ScriptedHandlers implements JobHandlers<UntypedJobs> {
  readonly childRuns = new Map<string, number[]>();
  readonly childDone = new Set<string>();
  readonly parentRuns = new Map<string, number>();
  private releaseHung: () => void = () => undefined;
  private readonly hung = new Promise<void>((resolve) => { this.releaseHung = resolve; });

  async runChild(kind: ChildKind, payload: unknown, ctx: ChildContext): Promise<unknown> {
    const p = payload as ChildPayload;
    const key = `${p.flow}/${p.child}`;
    const attempts = this.childRuns.get(key) ?? [];
    attempts.push(ctx.attempt);
    this.childRuns.set(key, attempts);
    const s = p.script;
    if (s.do === 'ok' && s.delayMs) await new Promise((r) => setTimeout(r, s.delayMs));
    if (s.do === 'failFirst' && ctx.attempt <= s.times) throw new Error(`scripted failure of ${p.child} on attempt ${ctx.attempt}`);
    if (s.do === 'fail') throw new Error(`scripted permanent failure of ${p.child}`);
    if (s.do === 'invalid') throw new NonRetryableError(`scripted invalid input of ${p.child}`);
    if (s.do === 'hang') {
      await new Promise<void>((resolve, reject) => {
        void this.hung.then(resolve);
        ctx.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
      throw new Error(`hung child ${p.child} released`);
    }
    this.childDone.add(key);
    return { kind, value: p.value };
  }

  async runParent(_kind: ParentKind, payload: unknown, outcomes: readonly ChildOutcome[]): Promise<unknown> {
    const p = payload as ParentPayload;
    this.parentRuns.set(p.flow, (this.parentRuns.get(p.flow) ?? 0) + 1);
    if (p.fail) throw new Error(`scripted parent failure of ${p.flow}`);
    if (p.invalid) throw new NonRetryableError(`scripted invalid parent input of ${p.flow}`);
    const summary: ParentSummary = {
      flow: p.flow,
      ids: outcomes.map((o) => o.id),
      values: outcomes.map((o) => (o.ok ? (o.value as { value: number }).value : null)),
      errors: outcomes.map((o) => (o.ok ? null : o.error)),
      codes: outcomes.map((o) => (o.ok ? null : o.code)),
    };
    return summary;
  }

  runsOf(flow: string, child: string): number[] {
    return this.childRuns.get(`${flow}/${child}`) ?? [];
  }

  totalChildRuns(flow: string): number {
    let n = 0;
    for (const [key, runs] of this.childRuns) if (key.startsWith(`${flow}/`)) n += runs.length;
    return n;
  }

  release(): void {
    this.releaseHung();
  }
}
