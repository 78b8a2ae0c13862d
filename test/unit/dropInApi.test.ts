/**
 * The drop-in service (docs/spec.md §13) over the composition root with in-memory tables and the virtual clock:
 * Retry-After counts to the next check, a vault that cannot answer is not the caller's failed attempt, and
 * x-functions-key authorizes nothing unless DROP_IN_FUNCTION_KEY_SECRET_NAME names a secret.
 */
import { describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../../shared/errors';
import { KEY, ORIGIN, unitServices, type UnitServices } from '../support/unitServices';

const URL_OF_GROUP = `http://localhost:7071/api/upstream/${new URL(ORIGIN).host}/face/v1.2/persongroups/g/training`;

function request(headers: Record<string, string>, method = 'GET') {
  return {
    method,
    url: URL_OF_GROUP,
    headers: new Headers({ 'x-forwarded-for': '203.0.113.9', ...headers }),
  };
}

async function registerAndPoll(unit: UnitServices): Promise<string> {
  const registered = await unit.services.api.register(
    JSON.stringify({
      kind: 'face.personGroup',
      endpoint: ORIGIN,
      keySecretName: 'face-key',
      personGroupId: 'g',
    }),
    'application/json',
    'http://localhost:7071',
  );
  const id = (registered.jsonBody as { id: string }).id;
  await unit.services.poller.pollNow(id);
  return id;
}

describe('DropInApi', () => {
  it('answers the upstream body with Retry-After counting down to the next check on the clock', async () => {
    // Prepare
    const unit = unitServices();
    await registerAndPoll(unit);

    // Act
    const first = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));
    await unit.clock.sleep(20_000);
    const later = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));

    // Assess
    const headers = (r: typeof first): Record<string, string> => r.headers as Record<string, string>;
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body as string)).toMatchObject({ status: 'running' });
    expect(headers(first)['retry-after']).toBe('60');
    expect(headers(later)['retry-after']).toBe('40');
    expect(headers(later).etag).toBe(headers(first).etag);
    expect(unit.calls).toHaveLength(1);
  });

  it('serves a resource registered a moment after a read found none, without waiting for the next scan', async () => {
    // Prepare: a read of the resource before any job is registered remembers a miss
    const unit = unitServices();
    const before = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));
    await registerAndPoll(unit);
    const other = URL_OF_GROUP.replace('/persongroups/g/', '/persongroups/other/');

    // Act: a job of the same resource that is not registered, read at once (no time passes on the clock)
    const onTheFly = await unit.services.dropIn.read({
      ...request({ 'Ocp-Apim-Subscription-Key': KEY }),
      url: other,
    });

    // Assess: known from the registration in this process, so registered on the fly (not the gateway's 404)
    expect(before.status).toBe(404);
    expect(onTheFly.status).not.toBe(404);
  });

  it('accepts the rotated key and refuses the old one as soon as the vault hands out a new value', async () => {
    // Prepare
    let current = KEY;
    const unit = unitServices({ keys: { getKey: () => Promise.resolve(current) } });
    await registerAndPoll(unit);
    const before = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));

    // Act
    current = 'rotated-face-key';
    const oldKey = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));
    const newKey = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': current }));

    // Assess
    expect(before.status).toBe(200);
    expect(oldKey.status).toBe(401);
    expect(newKey.status).toBe(200);
  });

  it('answers 503 when the key cannot be read, without counting a failed attempt', async () => {
    // Prepare
    let vaultUp = true;
    const unit = unitServices({
      keys: {
        getKey: (name) =>
          vaultUp
            ? Promise.resolve(KEY)
            : Promise.reject(new SecretUnavailableError(`Key Vault secret "${name}" is unavailable`, name)),
      },
    });
    await registerAndPoll(unit);
    vaultUp = false;

    // Act
    const answers = [];
    for (let i = 0; i < 12; i++) {
      answers.push(await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': 'any' })));
    }
    vaultUp = true;
    const after = await unit.services.dropIn.read(request({ 'Ocp-Apim-Subscription-Key': KEY }));

    // Assess
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(503));
    expect(after.status).toBe(200);
  });

  it('lets x-functions-key authorize nothing without DROP_IN_FUNCTION_KEY_SECRET_NAME', async () => {
    // Prepare
    const unit = unitServices();
    await registerAndPoll(unit);

    // Act
    const response = await unit.services.dropIn.read(request({ 'x-functions-key': KEY }));

    // Assess
    expect(response.status).toBe(401);
  });

  it('answers a write 405 with Allow before reading anything', async () => {
    // Prepare
    const unit = unitServices();

    // Act
    const response = await unit.services.dropIn.read(request({}, 'DELETE'));

    // Assess
    expect(response.status).toBe(405);
    expect((response.headers as Record<string, string>).allow).toBe('GET, HEAD');
  });
});
