/**
 * The subscription routes' logic over in-memory tables (docs/spec.md §7, §12): what happens when the vault secret
 * the signing secrets come from cannot be read (nothing stored, nothing changed), and the secret's absence from
 * every view but creation and rotation.
 */
import { describe, expect, it } from 'vitest';
import { memoryTables } from '../../dev/memoryTables';
import { VirtualClock } from '../../dev/virtualClock';
import { SubscriptionsApi } from '../../shared/api/subscriptionsApi';
import { SecretUnavailableError } from '../../shared/errors';
import { DerivedSigningSecrets } from '../../shared/notifications/signingSecrets';
import { TableDeliveryLog } from '../../shared/store/tableDeliveryLog';
import { TableSubscriptionStore } from '../../shared/store/tableSubscriptionStore';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const BASE = 'https://cache.contoso.com';

function newApi(): {
  api: SubscriptionsApi;
  store: TableSubscriptionStore;
  vault: { available: boolean };
  rows: () => number;
} {
  const tables = memoryTables();
  const clock = new VirtualClock(T0);
  const vault = { available: true };
  const store = new TableSubscriptionStore({ tableClient: tables.factory });
  const api = new SubscriptionsApi({
    store,
    deliveries: new TableDeliveryLog({ tableClient: tables.factory, clock }),
    secrets: new DerivedSigningSecrets({
      keys: {
        getKey: (name) =>
          vault.available
            ? Promise.resolve('root-secret-for-unit-tests')
            : Promise.reject(
                new SecretUnavailableError(`Key Vault secret "${name}" is unavailable: 503`, name),
              ),
      },
      secretName: 'webhook-signing',
    }),
    clock,
    listKinds: () => ['face.personGroup'],
    allowedWebhookOrigins: [],
  });
  return { api, store, vault, rows: () => tables.rows() };
}

const BODY = JSON.stringify({ url: 'https://hooks.contoso.com/x' });

describe('SubscriptionsApi', () => {
  it('stores nothing when the vault secret cannot be read at creation', async () => {
    // Prepare
    const { api, vault, rows } = newApi();
    vault.available = false;

    // Act
    const created = api.create(BODY, 'application/json', BASE);

    // Assess
    await expect(created).rejects.toBeInstanceOf(SecretUnavailableError);
    expect(rows()).toBe(0);
  });

  it('leaves the subscription as it was when the vault secret cannot be read at rotation', async () => {
    // Prepare
    const { api, store, vault } = newApi();
    const { id } = (await api.create(BODY, 'application/json', BASE)).jsonBody as { id: string };
    vault.available = false;

    // Act
    const rotated = api.rotate(id);

    // Assess
    await expect(rotated).rejects.toBeInstanceOf(SecretUnavailableError);
    expect((await store.get(id))?.version).toBe(1);
  });

  it('shows the secret on creation and rotation only', async () => {
    // Prepare
    const { api } = newApi();
    const created = (await api.create(BODY, 'application/json', BASE)).jsonBody as {
      id: string;
      secret: string;
    };

    // Act
    const rotated = (await api.rotate(created.id)).jsonBody as { secret: string };
    const views = [
      (await api.get(created.id)).jsonBody,
      (await api.list(new URLSearchParams(), BASE)).jsonBody,
      (await api.listDeliveries(created.id, new URLSearchParams(), BASE)).jsonBody,
    ];

    // Assess
    expect(created.secret).toMatch(/^whsec_/);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(views)).not.toContain('whsec_');
  });
});
