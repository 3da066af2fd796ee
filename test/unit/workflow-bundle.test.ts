import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { once } from '../../src/once';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES, workflowBundleOptions } from '../../src/workflow-bundle';

describe('what every workflow bundle is built with', () => {
  it('names interceptor and preload modules that exist, from this tree or from the one given', () => {
    for (const file of [...WORKFLOW_INTERCEPTOR_MODULES, ...WORKFLOW_PRELOAD_MODULES]) expect(existsSync(file)).toBe(true);
    const src = join(__dirname, '..', '..', 'src');
    const options = workflowBundleOptions(join(src, 'workflows', 'index.ts'), src);
    expect(options.workflowInterceptorModules).toEqual([join(src, 'workflows', 'interceptors.ts')]);
    expect(options.preloadModules).toEqual([join(src, 'workflows', 'preload.ts')]);
  });
});

describe('once', () => {
  it('builds on first use only, then hands out the same value', () => {
    let builds = 0;
    const value = once(() => ({ n: ++builds }));
    expect(builds).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(builds).toBe(1);
  });
});
