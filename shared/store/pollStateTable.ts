import { odata, type TableClient } from '@azure/data-tables';
import { claimProperties } from './claims';
import { double, entity, parseResourceRow, RowReader, text, type EntityProps } from './entities';
import { CYCLE_PARTITION, CYCLE_ROW, RESOURCE_PARTITION, resourceRowKey } from './keys';
import { opts, statusCodeOf, type Signal } from './tableClient';
import type { CycleSummary, ResourceState } from './types';

/**
 * Poll state in the `pollstate` table: one row per upstream resource (budget slots, pauses), and the last cycle's
 * summary.
 */
export class PollStateTable {
  constructor(private readonly state: TableClient) {}

  async listResourceStates(options?: Signal): Promise<Map<string, ResourceState>> {
    const out = new Map<string, ResourceState>();
    const filter = odata`PartitionKey eq ${RESOURCE_PARTITION}`;
    for await (const row of this.state.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      ...opts(options),
    })) {
      const state = parseResourceRow(row, row.rowKey ?? '?');
      out.set(state.resource, state);
    }
    return out;
  }

  async getResourceState(resource: string, options?: Signal): Promise<ResourceState | undefined> {
    const rowKey = resourceRowKey(resource);
    try {
      const row = await this.state.getEntity<Record<string, unknown>>(
        RESOURCE_PARTITION,
        rowKey,
        opts(options),
      );
      return parseResourceRow(row, rowKey);
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  async saveResourceState(state: ResourceState, options?: Signal): Promise<boolean> {
    const props: EntityProps = { resource: text(state.resource, 'resource') };
    if (state.nextSlotAt !== undefined) props['nextSlotAt'] = text(state.nextSlotAt, 'nextSlotAt');
    if (state.pausedUntil !== undefined) props['pausedUntil'] = text(state.pausedUntil, 'pausedUntil');
    if (state.pauseCode !== undefined) props['pauseCode'] = text(state.pauseCode, 'pauseCode');
    if (state.pauseMessage !== undefined) props['pauseMessage'] = text(state.pauseMessage, 'pauseMessage');
    if (state.claims !== undefined) Object.assign(props, claimProperties(state.claims));
    const row = entity(RESOURCE_PARTITION, resourceRowKey(state.resource), props);
    try {
      if (state.etag !== undefined) {
        await this.state.updateEntity(row, 'Replace', { etag: state.etag, ...opts(options) });
      } else {
        await this.state.createEntity(row, opts(options));
      }
      return true;
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 412 || status === 409 || status === 404) return false;
      throw error;
    }
  }

  async saveCycleSummary(summary: CycleSummary, options?: Signal): Promise<void> {
    await this.state.upsertEntity(
      entity(CYCLE_PARTITION, CYCLE_ROW, {
        startedAt: summary.startedAt,
        finishedAt: summary.finishedAt,
        polled: double(summary.polled, 'polled'),
        errors: double(summary.errors, 'errors'),
        upstreamErrors: double(summary.upstreamErrors, 'upstreamErrors'),
      }),
      'Replace',
      opts(options),
    );
  }

  async getCycleSummary(options?: Signal): Promise<CycleSummary | undefined> {
    try {
      const row = await this.state.getEntity<Record<string, unknown>>(
        CYCLE_PARTITION,
        CYCLE_ROW,
        opts(options),
      );
      const r = new RowReader(row, `${CYCLE_PARTITION}/${CYCLE_ROW}`);
      return {
        startedAt: r.string('startedAt'),
        finishedAt: r.string('finishedAt'),
        polled: r.number('polled'),
        errors: r.number('errors'),
        upstreamErrors: r.optionalNumber('upstreamErrors') ?? 0, // absent in rows written before it was counted
      };
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }
}
