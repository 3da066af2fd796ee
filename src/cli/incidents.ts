/**
 * opsctl incidents: list (the default), show, ack and resolve. Reading never migrates the store;
 * ack and resolve take --reason and --actor like every operator change, and write an audit row.
 */
import { Option, type Command } from 'commander';
import { INCIDENT_LIST_DEFAULT, INCIDENT_LIST_MAX, INCIDENT_STATES, parseIncidentQuery, type IncidentQuery, type Who } from '../client';
import type { IncidentState } from '../store';
import { parsePositiveInt } from './args';
import { formatIncident, formatIncidents } from './format';
import { whoOf, withWho, type GroupContext, type WhoOptions } from './plan';

interface ListOptions {
  all?: boolean;
  status?: IncidentState;
  type?: string;
  limit: string;
}

export function registerIncidents(program: Command, { command, setPlan, env }: GroupContext): void {
  const incidents = command(program, 'incidents', 'incidents: list (the default), show, ack, resolve');

  // The default: `opsctl incidents` alone lists (a stray word is refused by list as an argument).
  command(incidents, 'list', 'incidents not resolved yet, most urgent first (--all: resolved ones too)', { isDefault: true })
    .option('--all', 'every state, resolved included')
    .addOption(new Option('--status <state>', 'only this state').choices([...INCIDENT_STATES]).conflicts('all'))
    .option('--type <type>', 'only this type (e.g. dead_letter)')
    .option('--limit <n>', `at most this many rows (1-${INCIDENT_LIST_MAX})`, String(INCIDENT_LIST_DEFAULT))
    .action((opts: ListOptions) => {
      const query = listQuery(opts);
      setPlan(async ({ client, config, out }) => {
        const rows = await client.listIncidents(query);
        out.print(formatIncidents(rows, { now: new Date(), timeZone: config.timezone }), rows);
      });
    });

  command(incidents, 'show', 'one incident in full: body, occurrences, who acknowledged or resolved it and why')
    .argument('<id>', 'incident id (opsctl incidents)')
    .action((idArg: string) => {
      const id = parseIncidentId(idArg);
      setPlan(async ({ client, config, out }) => {
        const incident = await client.getIncident(id);
        out.print(formatIncident(incident, { now: new Date(), timeZone: config.timezone }), incident);
      });
    });

  for (const [verb, description] of [
    ['ack', 'acknowledge an open incident: known, still open until resolved (audited)'],
    ['resolve', 'resolve an open or acknowledged incident by hand (audited)'],
  ] as const) {
    withWho(command(incidents, verb, description))
      .argument('<id>', 'incident id (opsctl incidents)')
      .action((idArg: string, opts: WhoOptions) => {
        const id = parseIncidentId(idArg);
        const who: Who = whoOf(opts, env, `incidents ${verb}`);
        setPlan(async ({ client, out }) => {
          const incident = verb === 'ack' ? await client.acknowledgeIncident(id, who) : await client.resolveIncident(id, who);
          const done = verb === 'ack' ? 'acknowledged' : 'resolved';
          out.print(`incident #${incident.id} ${done} by ${who.actor}: ${who.reason}`, incident);
        }, 'write');
      });
  }
}

/** Checked now (parseIncidentQuery throws OpsClientError: exit 2), so a bad filter never connects. */
function listQuery(opts: ListOptions): IncidentQuery {
  const states: readonly IncidentState[] | undefined = opts.all ? INCIDENT_STATES : opts.status ? [opts.status] : undefined;
  const query = {
    limit: parsePositiveInt(opts.limit, '--limit'),
    ...(states ? { states } : {}),
    ...(opts.type === undefined ? {} : { type: opts.type }),
  };
  parseIncidentQuery(query);
  return query;
}

/** The store's ids are positive 64-bit integers; a safe JS integer is bound enough. */
function parseIncidentId(value: string): number {
  return parsePositiveInt(value, 'incident id');
}
