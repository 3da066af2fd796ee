/**
 * The Prometheus text exposition format (0.0.4), read line by line: enough to merge the Temporal
 * SDK's own text into ours without two families of one name, and for tests to read /metrics.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type?: string;
  help?: string;
  samples: Sample[];
  /** The family's lines as they were (HELP, TYPE, samples). */
  lines: string[];
}

export class TextFormatError extends Error {
  override readonly name = 'TextFormatError';
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL_PAIR = /^[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(,|$)/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** The sample names a family of `name` and `type` may have. */
export function sampleNamesOf(name: string, type: string | undefined): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`, `${name}_created`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`, `${name}_created`];
  if (type === 'counter') return [name, `${name}_total`, `${name}_created`];
  return [name];
}

/** Every family of `text`, in order; a malformed line, or a family split in two, throws naming the line. */
export function parsePrometheusText(text: string): MetricFamily[] {
  const families: MetricFamily[] = [];
  const seen = new Set<string>();
  let current: MetricFamily | undefined;
  const start = (name: string, lineNo: number): MetricFamily => {
    if (current?.name === name) return current;
    if (seen.has(name)) throw new TextFormatError(`line ${lineNo}: metric family ${name} appears a second time`);
    seen.add(name);
    current = { name, samples: [], lines: [] };
    families.push(current);
    return current;
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trimEnd();
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest = ''] = meta;
      if (!METRIC_NAME.test(name!)) throw new TextFormatError(`line ${lineNo}: bad metric name "${name}"`);
      const family = start(name!, lineNo);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new TextFormatError(`line ${lineNo}: unknown type "${rest}" of ${name}`);
        if (family.type !== undefined) throw new TextFormatError(`line ${lineNo}: a second TYPE of ${name}`);
        if (family.samples.length > 0) throw new TextFormatError(`line ${lineNo}: TYPE of ${name} after its samples`);
        family.type = rest;
      } else {
        if (family.help !== undefined) throw new TextFormatError(`line ${lineNo}: a second HELP of ${name}`);
        family.help = rest;
      }
      family.lines.push(line);
      return;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new TextFormatError(`line ${lineNo}: not a sample: ${line.slice(0, 200)}`);
    const [, name, labelText, valueText] = match;
    const sample: Sample = { name: name!, labels: parseLabels(labelText ?? '', lineNo), value: parseValue(valueText!, lineNo) };
    const family = current && sampleNamesOf(current.name, current.type).includes(sample.name) ? current : start(sample.name, lineNo);
    family.samples.push(sample);
    family.lines.push(line);
  });
  return families;
}

function parseLabels(text: string, lineNo: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.trim() !== '') {
    const match = LABEL_PAIR.exec(rest);
    if (!match) throw new TextFormatError(`line ${lineNo}: bad labels {${text.slice(0, 200)}}`);
    const [whole, name, value] = match;
    if (name! in labels) throw new TextFormatError(`line ${lineNo}: label ${name} twice`);
    labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

function parseValue(text: string, lineNo: number): number {
  // As Prometheus reads them (Go's ParseFloat): any case, so prom-client's "Nan" too.
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Infinity;
  if (special === '-inf') return -Infinity;
  if (special === 'nan') return NaN;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new TextFormatError(`line ${lineNo}: bad value "${text}"`);
  return value;
}

/** Every sample name `families` may use: what another text must not also use. */
export function takenNames(families: readonly MetricFamily[]): Set<string> {
  const names = new Set<string>();
  for (const f of families) {
    names.add(f.name);
    for (const n of sampleNamesOf(f.name, f.type)) names.add(n);
    for (const s of f.samples) names.add(s.name);
  }
  return names;
}

/** `extra`'s families that use no name of `taken` (as text), and the names of those left out. */
export function withoutCollisions(extra: readonly MetricFamily[], taken: ReadonlySet<string>): { text: string; dropped: string[] } {
  const kept: MetricFamily[] = [];
  const dropped: string[] = [];
  for (const family of extra) {
    const names = [family.name, ...sampleNamesOf(family.name, family.type), ...family.samples.map((s) => s.name)];
    if (names.some((n) => taken.has(n))) dropped.push(family.name);
    else kept.push(family);
  }
  return { text: kept.map((f) => f.lines.join('\n')).join('\n'), dropped };
}
