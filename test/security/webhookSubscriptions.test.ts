/**
 * docs/spec.md §12 (OWASP API7, SSRF): hostile webhook URLs are refused at creation with 400, target `url`, and no
 * Table write; and signing secrets appear only in the answers of creation and rotation: never in another answer, a
 * Table row or a log line (they are derived from the vault secret, which appears nowhere either).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEBHOOK_SIGNING_SECRET_NAME } from '../../shared/config';
import { startTestStack, type TestStack } from '../support/testStack';
import { readAllEntities, writesOf } from './support';
import { hostileWebhookUrls } from './webhookUrlCorpus';

/** The loopback receiver origin the settings list (nothing listens there: creation never calls it). */
const LISTED_ORIGIN = 'http://127.0.0.1:9443';
/** The vault secret the signing secrets are derived from: recognizable, to be found nowhere. */
const ROOT_CANARY = 'ROOT-SIGNING-CANARY-b7e14c02d9a35f68-DO-NOT-LEAK';

const CORPUS = hostileWebhookUrls(LISTED_ORIGIN).map((e) => ({
  ...e,
  // Strings as written (control characters escaped, long ones cut), other values as JSON.
  label:
    typeof e.url === 'string'
      ? JSON.stringify(e.url.length > 80 ? `${e.url.slice(0, 77)}...` : e.url).slice(1, -1)
      : JSON.stringify(e.url),
}));

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({
    simulators: { main: {} },
    settings: { ALLOWED_WEBHOOK_ORIGINS: LISTED_ORIGIN },
  });
  t.stack.vault!.setSecret(DEFAULT_WEBHOOK_SIGNING_SECRET_NAME, ROOT_CANARY);
  // The first request builds the services and creates the tables: done before counting writes.
  await t.call('/api/subscriptions');
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const create = (body: unknown): Promise<{ status: number; body: unknown; text: string }> =>
  t.call('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('hostile webhook URLs at creation', () => {
  it('holds at least 50 distinct hostile URLs over every family of trick', () => {
    // Act
    const categories = new Set(CORPUS.map((e) => e.category));

    // Assess
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
    expect(new Set(CORPUS.map((e) => JSON.stringify(e.url))).size).toBe(CORPUS.length);
    expect(categories.size).toBeGreaterThanOrEqual(10);
  });

  it.each(CORPUS)(
    'refuses $label ($category) with 400 and target url, writing no Table row',
    async ({ url }) => {
      // Prepare
      t.tables.resetCount();

      // Act
      const answer = await create({ url, description: 'hostile' });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: { code: 'InvalidArgument', target: 'url' } });
      expect(writesOf(t.tables.requests)).toEqual([]);
    },
  );

  it('stored none of them: the API lists no subscription and the subscriptions table is empty', async () => {
    // Act
    const listed = await t.call('/api/subscriptions');
    const rows = (await readAllEntities(t.stack.settings.AzureWebJobsStorage!)).filter(
      (e) => e.table === 'subscriptions',
    );

    // Assess
    expect(listed.body).toEqual({ value: [] });
    expect(rows).toEqual([]);
  });
});

describe('signing secrets', () => {
  it('appear in the creation and rotation answers only: not in other answers, Table rows or logs', async () => {
    // Prepare
    const secrets: string[] = [];
    const ids: string[] = [];
    for (const url of ['https://hooks.contoso.com/a', `${LISTED_ORIGIN}/b`]) {
      const answer = await create({ url, events: ['job.completed'] });
      const { id, secret } = answer.body as { id: string; secret: string };
      ids.push(id);
      secrets.push(secret);
    }
    const rotation = await t.call(`/api/subscriptions/${ids[0]!}/rotate-secret`, { method: 'POST' });
    secrets.push((rotation.body as { secret: string }).secret);

    // Act
    const answers = [
      await t.call('/api/subscriptions'),
      ...(await Promise.all(ids.map((id) => t.call(`/api/subscriptions/${id}`)))),
      ...(await Promise.all(ids.map((id) => t.call(`/api/subscriptions/${id}/deliveries`)))),
    ];
    const rows = await readAllEntities(t.stack.settings.AzureWebJobsStorage!);
    const everything = [...answers.map((a) => a.text), ...rows.map((r) => r.text), ...t.logs].join('\n');

    // Assess
    expect(new Set(secrets).size).toBe(3);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(rows.filter((r) => r.table === 'subscriptions')).toHaveLength(2);
    const forms = secrets.flatMap((s) => {
      const bytes = Buffer.from(s.slice('whsec_'.length), 'base64');
      return [s, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
    });
    for (const form of [...forms, ROOT_CANARY, 'whsec_']) expect(everything).not.toContain(form);
  });
});
