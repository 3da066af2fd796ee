/**
 * The registration check of src/workflows/registry.ts, proven on made-up export sets: each problem
 * names the job or export, and a set with a problem does not compile (`tsc` checks the
 * @ts-expect-error lines: if the check stopped failing, the unused directive would).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JobInput, JobResult } from '../../src/definitions';
import { JOB_NAMES } from '../../src/jobs';
import type { NoRegistrationProblems, RegistrationProblems, WorkflowRegistration } from '../../src/workflows/registry';
import * as workflows from '../../src/workflows';

type Job = (input?: JobInput) => Promise<JobResult>;

describe('workflow registration, checked by the compiler', () => {
  it('the real exports have no problem', () => {
    expectTypeOf<WorkflowRegistration>().toEqualTypeOf<{ missingJobs: never; unknownExports: never; notJobWorkflows: never }>();
  });

  it('a job of the catalogue without an export is named', () => {
    type P = RegistrationProblems<{ a: Job }, 'a' | 'b', never>;
    expectTypeOf<P['missingJobs']>().toEqualTypeOf<'b'>();
    // @ts-expect-error -- job b has no workflow
    type _Fails = NoRegistrationProblems<P>;
  });

  it('an export that is neither a job nor a known workflow is named', () => {
    type P = RegistrationProblems<{ a: Job; stray: Job; opsControls: () => Promise<void> }, 'a', 'opsControls'>;
    expectTypeOf<P['unknownExports']>().toEqualTypeOf<'stray'>();
    expectTypeOf<P['missingJobs']>().toEqualTypeOf<never>();
    // @ts-expect-error -- stray is not a job
    type _Fails = NoRegistrationProblems<P>;
  });

  it('a job whose export does not take a JobInput and return a JobResult is named', () => {
    type P = RegistrationProblems<{ a: Job; b: (n: number) => Promise<string> }, 'a' | 'b', never>;
    expectTypeOf<P['notJobWorkflows']>().toEqualTypeOf<'b'>();
    // @ts-expect-error -- b is not a job workflow
    type _Fails = NoRegistrationProblems<P>;
  });

  it('at run time too: every job of the catalogue is a workflow function the worker registers', () => {
    for (const job of JOB_NAMES) expect(typeof (workflows as Record<string, unknown>)[job], job).toBe('function');
  });
});
