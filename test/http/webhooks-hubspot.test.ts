/**
 * POST /v1/webhooks/hubspot against a real system (Temporal dev server, worker, store) and the
 * HubSpot fake, on SQLite and PostgreSQL: the v3 signature is checked over the raw body and the
 * URI as HubSpot called it; every refusal enqueues nothing; each named contact is synced by its
 * own workflow, one run per contact at a time, and none of the events is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { insertDeadLetter, listAudit, listMemoryItems } from '../../src/store';
import { hubspotContactWorkflowId } from '../../src/workflows/hubspot-contact-definitions';
import { HubSpotFake } from '../fakes';
import { startSystem, type TestSystem } from '../helpers/system';
import { closed, contactEvent, ContactReadProbe, hubspotHeaders, PUBLIC_HOST, webhookApp, workflowExists } from './webhook-helpers';

const SECRET = 'hubspot-client-secret-for-tests';
const DIALECTS = ['sqlite', 'postgres'] as const;
const who = { actor: 'test', reason: 'webhook kill switch test' };

function post(app: FastifyInstance, body: string, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/v1/webhooks/hubspot', payload: body, headers });
}

/** The stored contact's properties, as the full sync stores them. */
async function storedContact(sys: TestSystem, id: string): Promise<Record<string, unknown> | undefined> {
  const [item] = await listMemoryItems(sys.store.db, { key: `hubspot.contact.${id}` });
  return item ? (JSON.parse(item.value) as { properties: Record<string, unknown> }).properties : undefined;
}

for (const dialect of DIALECTS) {
  describe(`HubSpot webhook on ${dialect}`, () => {
    const fake = new HubSpotFake({ contacts: HubSpotFake.generateContacts(20), rateLimit: false });
    let probe: ContactReadProbe;
    let sys: TestSystem;
    let app: FastifyInstance;

    beforeAll(async () => {
      const url = await fake.start();
      // Contact reads are held 150 ms each, so overlapping runs of one contact would show.
      probe = new ContactReadProbe(url, 150);
      const proxied = await probe.start();
      sys = await startSystem({
        dialect,
        config: { webhooks: { hubspot: { clientSecret: SECRET, maxEvents: 100 } }, sources: { pageTimeoutMs: 10_000, hubspot: { token: fake.token, baseUrl: proxied } } },
      });
      await sys.ops.ensureControls();
      app = await webhookApp(sys);
    });
    afterAll(async () => {
      await app?.close();
      await sys?.close();
      await probe?.close();
      await fake.close();
    });

    it('a signed request: 200, each contact synced by its own workflow under the job wrapper, stored as the full sync stores it', async () => {
      fake.touch('1', '2026-02-01T00:00:00.000Z', { firstname: 'Ada' });
      const body = JSON.stringify([contactEvent(1), contactEvent(2, 'contact.creation'), contactEvent(1), { ...contactEvent(7), subscriptionType: 'company.propertyChange' }]);
      const response = await post(app, body, hubspotHeaders(SECRET, body));
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ received: 4, contacts: 2, ignored: 1 });
      for (const id of ['1', '2']) {
        expect(await closed(sys, hubspotContactWorkflowId(id))).toBe('COMPLETED');
        const result = await sys.ops.jobResult(hubspotContactWorkflowId(id));
        expect(result).toMatchObject({ job: 'sync_hubspot', outcome: 'succeeded', output: { contactId: id, last: { status: 'stored' } } });
      }
      expect(await storedContact(sys, '1')).toMatchObject({ firstname: 'Ada', email: 'contact1@example.com', lastmodifieddate: '2026-02-01T00:00:00.000Z' });
      expect(await storedContact(sys, '2')).toMatchObject({ firstname: 'First2' });
      // Company 7's event named no contact: nothing started for it.
      expect(await workflowExists(sys, hubspotContactWorkflowId('7'))).toBe(false);
      const audit = await listAudit(sys.store.db, { job: 'sync_hubspot' });
      expect(audit.filter((a) => a.workflow_id === hubspotContactWorkflowId('1'))).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
    });

    it('the URI HubSpot signed is the public one: without the proxy headers the same signature does not match', async () => {
      const body = JSON.stringify([contactEvent(3)]);
      const headers = hubspotHeaders(SECRET, body);
      const { 'x-forwarded-proto': _proto, ...direct } = headers;
      expect((await post(app, body, direct)).statusCode).toBe(401);
      // Signed for the address it was sent to (http, no proxy): accepted.
      const plain = hubspotHeaders(SECRET, body, { uri: `http://${PUBLIC_HOST}/v1/webhooks/hubspot` });
      const { 'x-forwarded-proto': _p, ...unproxied } = plain;
      expect((await post(app, body, unproxied)).statusCode).toBe(200);
      expect(await closed(sys, hubspotContactWorkflowId('3'))).toBe('COMPLETED');
    });

    it('refusals: 401 for a bad, stale, future, missing or replayed signature; 4xx for a bad body; nothing enqueued', async () => {
      const readsBefore = fake.contactReads().length;
      const one = (id: number) => JSON.stringify([contactEvent(id)]);
      const cases: { name: string; id: number; status: number; send: (body: string) => { body: string; headers: Record<string, string> } }[] = [
        { name: 'wrong secret', id: 901, status: 401, send: (b) => ({ body: b, headers: hubspotHeaders('not-the-secret', b) }) },
        { name: 'body changed after signing', id: 902, status: 401, send: (b) => ({ body: b.replace('902', '912'), headers: hubspotHeaders(SECRET, b) }) },
        { name: 'stale (6 min)', id: 903, status: 401, send: (b) => ({ body: b, headers: hubspotHeaders(SECRET, b, { timestampMs: Date.now() - 6 * 60_000 }) }) },
        { name: 'future (5 min ahead)', id: 904, status: 401, send: (b) => ({ body: b, headers: hubspotHeaders(SECRET, b, { timestampMs: Date.now() + 5 * 60_000 }) }) },
        { name: 'no signature', id: 905, status: 401, send: (b) => ({ body: b, headers: { ...hubspotHeaders(SECRET, b), 'x-hubspot-signature-v3': '' } }) },
        { name: 'timestamp not a number', id: 906, status: 401, send: (b) => ({ body: b, headers: { ...hubspotHeaders(SECRET, b), 'x-hubspot-request-timestamp': 'yesterday' } }) },
        { name: 'malformed JSON', id: 907, status: 400, send: (b) => ({ body: `${b.slice(0, -1)},`, headers: hubspotHeaders(SECRET, `${b.slice(0, -1)},`) }) },
        { name: 'wrong types', id: 908, status: 400, send: () => { const b = JSON.stringify([{ ...contactEvent(908), objectId: '908' }]); return { body: b, headers: hubspotHeaders(SECRET, b) }; } },
        { name: 'not an array', id: 909, status: 400, send: () => { const b = JSON.stringify(contactEvent(909)); return { body: b, headers: hubspotHeaders(SECRET, b) }; } },
        { name: 'empty array', id: 910, status: 400, send: () => ({ body: '[]', headers: hubspotHeaders(SECRET, '[]') }) },
        { name: 'too many events', id: 911, status: 400, send: () => { const b = JSON.stringify(Array.from({ length: 101 }, () => contactEvent(911))); return { body: b, headers: hubspotHeaders(SECRET, b) }; } },
        { name: 'huge body', id: 913, status: 413, send: () => { const b = JSON.stringify([{ ...contactEvent(913), propertyValue: 'x'.repeat(600_000) }]); return { body: b, headers: hubspotHeaders(SECRET, b) }; } },
        { name: 'not JSON content', id: 914, status: 415, send: (b) => ({ body: b, headers: { ...hubspotHeaders(SECRET, b), 'content-type': 'text/plain' } }) },
      ];
      for (const c of cases) {
        const { body, headers } = c.send(one(c.id));
        const response = await post(app, body, headers);
        expect({ name: c.name, status: response.statusCode }).toEqual({ name: c.name, status: c.status });
        if (c.status === 400 || c.status === 401) expect(response.json().error, c.name).toEqual(expect.any(String));
        expect(await workflowExists(sys, hubspotContactWorkflowId(String(c.id))), c.name).toBe(false);
      }
      expect(fake.contactReads().length).toBe(readsBefore);
    });

    it('a replay: the same signed request again is refused, and with its old timestamp once stale', async () => {
      const body = JSON.stringify([contactEvent(4)]);
      const headers = hubspotHeaders(SECRET, body);
      expect((await post(app, body, headers)).statusCode).toBe(200);
      const again = await post(app, body, headers);
      expect(again.statusCode).toBe(401);
      expect(again.json().error).toContain('already received');
      // Captured earlier and played after the window: the age check refuses it.
      const old = hubspotHeaders(SECRET, body, { timestampMs: Date.now() - 10 * 60_000 });
      expect((await post(app, body, old)).statusCode).toBe(401);
      expect(await closed(sys, hubspotContactWorkflowId('4'))).toBe('COMPLETED');
      const runs = await listAudit(sys.store.db, { job: 'sync_hubspot' });
      expect(runs.filter((a) => a.workflow_id === hubspotContactWorkflowId('4'))).toHaveLength(1);
    });

    it('a contact HubSpot no longer has (contact.deletion): read, nothing written, nothing deleted', async () => {
      fake.archive('20');
      const body = JSON.stringify([contactEvent(20, 'contact.deletion')]);
      expect((await post(app, body, hubspotHeaders(SECRET, body))).statusCode).toBe(200);
      expect(await closed(sys, hubspotContactWorkflowId('20'))).toBe('COMPLETED');
      expect(await sys.ops.jobResult(hubspotContactWorkflowId('20'))).toMatchObject({ outcome: 'succeeded', output: { last: { status: 'not_found', contactId: '20' } } });
      expect(await storedContact(sys, '20')).toBeUndefined();
    });

    it('the kill switch stops the contact sync: the run ends skipped with its audit row, the contact is not read', async () => {
      await sys.ops.setKillSwitch(true, who);
      try {
        const reads = fake.contactReads().length;
        const body = JSON.stringify([contactEvent(5)]);
        expect((await post(app, body, hubspotHeaders(SECRET, body))).statusCode).toBe(200);
        expect(await closed(sys, hubspotContactWorkflowId('5'))).toBe('COMPLETED');
        expect(await sys.ops.jobResult(hubspotContactWorkflowId('5'))).toMatchObject({ outcome: 'skipped', reason: 'Kill switch is active' });
        expect(fake.contactReads().length).toBe(reads);
        expect(await storedContact(sys, '5')).toBeUndefined();
        const [audit] = (await listAudit(sys.store.db, { job: 'sync_hubspot' })).filter((a) => a.workflow_id === hubspotContactWorkflowId('5'));
        expect(audit).toMatchObject({ outcome: 'skipped' });
      } finally {
        await sys.ops.setKillSwitch(false, who);
      }
    });

    it("a dead letter's replay never reads beside the contact's own workflow: it starts that workflow, or signals it when it runs", async () => {
      const replay = async (contactId: string, workflowId: string) => {
        const input = { trigger: 'manual' as const, params: { contactId } };
        const letter = await insertDeadLetter(sys.store.db, {
          created_at: new Date().toISOString(),
          job: 'sync_hubspot',
          workflow_type: 'hubspotContactSync',
          workflow_id: hubspotContactWorkflowId(contactId),
          input: JSON.stringify(input),
          error: 'recorded for the test',
          category: 'transient',
          attempts: 1,
        });
        // As process_retry_queue starts it: another workflow id, replayOf set.
        await sys.client.workflow.start('hubspotContactSync', { workflowId, taskQueue: sys.config.temporal.taskQueue, args: [{ ...input, trigger: 'retry_queue', replayOf: letter }] });
        return sys.ops.jobResult(workflowId);
      };
      // None running: the replay runs the contact's workflow as its child.
      expect(await replay('16', `sync_hubspot-retry-16-${dialect}`)).toMatchObject({ outcome: 'succeeded', output: { delegatedTo: hubspotContactWorkflowId('16'), outcome: 'succeeded' } });
      expect(await storedContact(sys, '16')).toMatchObject({ firstname: 'First16' });
      // One running (its read held for 2 s): the replay marks it dirty, and it reads once more.
      fake.fail({ delayMs: 2000, path: '/crm/v3/objects/contacts/17' });
      const body = JSON.stringify([contactEvent(17)]);
      expect((await post(app, body, hubspotHeaders(SECRET, body))).statusCode).toBe(200);
      await expect.poll(() => fake.requests.filter((r) => r.path.endsWith('/contacts/17')).length, { timeout: 10_000 }).toBe(1);
      fake.touch('17', '2026-04-01T00:00:00.000Z', { firstname: 'AfterReplay' });
      expect(await replay('17', `sync_hubspot-retry-17-${dialect}`)).toMatchObject({ outcome: 'succeeded', output: { delegatedTo: hubspotContactWorkflowId('17'), outcome: 'signalled' } });
      expect(await closed(sys, hubspotContactWorkflowId('17'))).toBe('COMPLETED');
      expect(await sys.ops.jobResult(hubspotContactWorkflowId('17'))).toMatchObject({ output: { passes: 2 } });
      expect(probe.maxInFlight.get('17')).toBe(1);
      expect(await storedContact(sys, '17')).toMatchObject({ firstname: 'AfterReplay' });
    });

    it('a burst of 50 events for 5 contacts: at most one read of a contact at a time, and every contact ends as HubSpot has it', async () => {
      const contacts = ['11', '12', '13', '14', '15'];
      const requests = Array.from({ length: 50 }, (_, i) => {
        const id = contacts[i % contacts.length]!;
        return { id, event: contactEvent(Number(id)) };
      });
      const answers = await Promise.all(
        requests.map(async ({ id, event }, i) => {
          // The contact changes before each of its events, as in HubSpot: the last read must see the last change.
          fake.touch(id, new Date(Date.parse('2026-03-01T00:00:00.000Z') + i * 1000).toISOString(), { firstname: `Burst${i}` });
          await new Promise((resolve) => setTimeout(resolve, (i % 10) * 20));
          const body = JSON.stringify([event]);
          return (await post(app, body, hubspotHeaders(SECRET, body))).statusCode;
        }),
      );
      expect(answers).toEqual(Array(50).fill(200));
      for (const id of contacts) expect(await closed(sys, hubspotContactWorkflowId(id))).toBe('COMPLETED');
      // Measured at the API: never two reads of one contact in flight, though contacts ran side by side.
      for (const id of contacts) expect(probe.maxInFlight.get(id)).toBe(1);
      expect(probe.maxInFlightAll).toBeGreaterThan(1);
      // Coalesced: fewer reads than events, yet none lost: each stored row is HubSpot's latest.
      const reads = fake.contactReads().filter((id) => contacts.includes(id));
      expect(reads.length).toBeLessThan(50);
      for (const id of contacts) {
        const latest = fake.contacts.find((c) => c.id === id)!;
        expect(await storedContact(sys, id)).toMatchObject({ firstname: latest.firstname, lastmodifieddate: latest.lastModified });
      }
      const audited = (await listAudit(sys.store.db, { job: 'sync_hubspot' })).filter((a) => contacts.some((id) => a.workflow_id === hubspotContactWorkflowId(id)));
      expect(audited.every((a) => a.outcome === 'succeeded')).toBe(true);
    });
  });
}
