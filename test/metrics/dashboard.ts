/** Reading the Grafana dashboard's queries, and the metric names a PromQL expression uses. */

export interface PanelQuery {
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { expr?: string }[];
}

/** Every target's expr of every panel, rows' collapsed panels included; a panel without one throws. */
export function panelQueries(dashboard: unknown): PanelQuery[] {
  const root = dashboard as { panels?: Panel[] };
  if (!Array.isArray(root.panels)) throw new Error('the dashboard has no panels');
  const out: PanelQuery[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      if (panel.type === 'row') {
        walk(panel.panels ?? []);
        continue;
      }
      const title = panel.title ?? '(untitled)';
      const exprs = (panel.targets ?? []).map((t) => t.expr).filter((e): e is string => typeof e === 'string' && e.trim() !== '');
      if (exprs.length === 0) throw new Error(`panel "${title}" has no query`);
      for (const expr of exprs) out.push({ panel: title, expr });
    }
  };
  walk(root.panels);
  return out;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names in a PromQL expression: identifiers that are not functions, keywords, labels or variables. */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '') // Grafana variables
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const [whole, call] = match;
    const name = whole.replace(/\s*\($/, '');
    if (call || KEYWORDS.has(name.toLowerCase()) || /^\d/.test(name)) continue;
    // A number's exponent (1e3) or duration unit is not a name: only ones that look like metrics.
    if (!/[a-z]_/.test(name) && !name.includes(':')) continue;
    names.add(name);
  }
  return [...names];
}
