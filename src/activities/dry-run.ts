/**
 * An activity of a dry run (the workflow sets DRY_RUN_HEADER on it): it runs for real against a
 * store whose writes are rolled back (store/dry-run.ts), channels that record instead of sending,
 * and a Temporal client that records instead of starting, signalling or changing anything. Its
 * result comes back to the workflow in an envelope with what it would have done.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@temporalio/client';
import { DRY_RUN_ENVELOPE, type DryRunReport, type DryRunSend, type DryRunTemporalChange } from '../definitions';
import { newDryRunLedger } from '../store/dry-run';
import type { Store } from '../store';
import { redact } from '../notifications/redact';

interface ActivityDryRun {
  sends: DryRunSend[];
  temporal: DryRunTemporalChange[];
  notes: string[];
}

const current = new AsyncLocalStorage<ActivityDryRun>();

export interface DryRunEnvelope<T = unknown> {
  [DRY_RUN_ENVELOPE]: true;
  result: T;
  report: DryRunReport;
}

export function inDryRun(): boolean {
  return current.getStore() !== undefined;
}

/** Runs an activity as a dry run and wraps its result with what it would have done. */
export async function runDryRunActivity<T>(store: Store, work: () => Promise<T>): Promise<DryRunEnvelope<T>> {
  const ledger = newDryRunLedger();
  const effects: ActivityDryRun = { sends: [], temporal: [], notes: [] };
  const result = await current.run(effects, () => store.runDryRun(ledger, work));
  return {
    [DRY_RUN_ENVELOPE]: true,
    result,
    report: { writes: [...ledger.writes.values()], sends: effects.sends, temporal: effects.temporal, notes: effects.notes },
  };
}

const PREVIEW_CHARS = 160;

/** In a dry run: records the message and returns a stand-in provider id. Outside one: undefined. */
export function recordSendInDryRun(channel: string, to: string, text: string, secrets: readonly string[]): string | undefined {
  const effects = current.getStore();
  if (!effects) return undefined;
  const clean = redact(text, secrets).replace(/\s+/g, ' ').trim();
  effects.sends.push({
    channel,
    to: /^\+\d+$/.test(to) ? `+…${to.slice(-4)}` : to,
    preview: clean.length > PREVIEW_CHARS ? `${clean.slice(0, PREVIEW_CHARS)}…` : clean,
  });
  return `dry-run-${effects.sends.length}`;
}

/** A limit a dry run keeps that the real run would not, said in the report. */
export function noteInDryRun(note: string): void {
  current.getStore()?.notes.push(note);
}

function recordTemporal(action: string, target: string): boolean {
  const effects = current.getStore();
  if (!effects) return false;
  effects.temporal.push({ action, target: target.slice(0, 200) });
  return true;
}

/** Workflow handle methods that change something; the others (describe, query, result, fetchHistory) read. */
const WORKFLOW_HANDLE_CHANGES = ['signal', 'cancel', 'terminate', 'executeUpdate', 'startUpdate', 'executeUpdateWithStart'] as const;
const SCHEDULE_HANDLE_CHANGES = ['pause', 'unpause', 'update', 'trigger', 'delete', 'backfill'] as const;

/**
 * The client activities get: outside a dry run it is `client`. Inside one, what would start,
 * signal or change a workflow or a schedule is recorded and not done; reads go through.
 */
export function dryRunAwareClient(client: Client): Client {
  const handleProxy = <H extends object>(handle: H, kind: string, id: string, changes: readonly string[]): H =>
    new Proxy(handle, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => unknown).bind(target);
        if (typeof prop !== 'string' || !changes.includes(prop)) return fn;
        return (...args: unknown[]) => (recordTemporal(`${prop} ${kind}`, id) ? Promise.resolve(undefined) : fn(...args));
      },
    });
  const workflow = new Proxy(client.workflow, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop === 'getHandle') {
        return (id: string, ...rest: unknown[]) => handleProxy(fn(id, ...rest) as object, 'workflow', id, WORKFLOW_HANDLE_CHANGES);
      }
      if (prop === 'start' || prop === 'signalWithStart' || prop === 'execute') {
        return (type: unknown, options: { workflowId?: string } = {}) => {
          const id = options.workflowId ?? '(no id)';
          if (!recordTemporal(`${prop} workflow ${typeof type === 'string' ? type : 'workflow'}`, id)) return fn(type, options);
          return Promise.resolve(handleProxy(target.getHandle(id), 'workflow', id, WORKFLOW_HANDLE_CHANGES));
        };
      }
      return fn;
    },
  });
  const schedule = new Proxy(client.schedule, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop === 'getHandle') return (id: string) => handleProxy(fn(id) as object, 'schedule', id, SCHEDULE_HANDLE_CHANGES);
      if (prop === 'create') {
        return (options: { scheduleId: string }) => (recordTemporal('create schedule', options.scheduleId) ? Promise.resolve(undefined) : fn(options));
      }
      return fn;
    },
  });
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'workflow') return workflow;
      if (prop === 'schedule') return schedule;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
