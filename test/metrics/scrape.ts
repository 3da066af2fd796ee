/** GET /metrics through a small Fastify app with only our plugin, and reading its text. */
import Fastify, { type FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { HttpDeps } from '../../src/http/deps';
import { registerMetrics } from '../../src/http/metrics';
import { parsePrometheusText, type MetricFamily } from '../../src/metrics/text-format';

export async function metricsApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify();
  await registerMetrics(app, deps);
  await app.ready();
  return app;
}

export interface Scrape {
  text: string;
  families: MetricFamily[];
  /** The sample of `name` with exactly these labels (le etc. included), or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name` whose labels include `labels`, summed (0 when none). */
  sum(name: string, labels?: Record<string, string>): number;
  has(family: string): boolean;
}

export async function scrape(app: FastifyInstance): Promise<Scrape> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return readScrape(response.body);
}

/** Parses (throwing on any malformed line or split family) and indexes the text. */
export function readScrape(text: string): Scrape {
  const families = parsePrometheusText(text);
  const samples = families.flatMap((f) => f.samples);
  const matches = (have: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => have[k] === v);
  return {
    text,
    families,
    value: (name, labels = {}) => {
      const found = samples.filter((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && matches(s.labels, labels));
      if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} has ${found.length} samples`);
      return found[0]?.value;
    },
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s.labels, labels)).reduce((n, s) => n + s.value, 0),
    has: (family) => families.some((f) => f.name === family),
  };
}
