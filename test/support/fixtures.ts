import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PollOutcome, StatusReading, UpstreamFailure } from '../../shared/model';
import type { UpstreamResponse } from '../../shared/upstream/types';

/**
 * Upstream answers kept as files in `test/fixtures/<kind>/<name>.json`: documented examples and recorded
 * responses, each with its `source` (repository + path + commit, or the page or issue it was reported in). A body
 * that had to be built from documentation says so in its source ("Constructed from documentation ...").
 *
 * `body` holds a JSON body; `bodyText` holds a body byte for byte when its exact text matters (recorded CRLF
 * whitespace, the Face seed's padding, bodies that are not valid JSON).
 */
export interface UpstreamFixture {
  source: string;
  status: number;
  headers: Record<string, string>;
  notes?: string;
  body?: unknown;
  bodyText?: string;
}

export const FIXTURES_DIR = path.resolve(__dirname, '../fixtures');

export function fixtureKinds(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

export function fixtureNames(kind: string): string[] {
  return readdirSync(path.join(FIXTURES_DIR, kind))
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

export function readFixture(kind: string, name: string): UpstreamFixture {
  const text = readFileSync(path.join(FIXTURES_DIR, kind, `${name}.json`), 'utf8');
  return JSON.parse(text) as UpstreamFixture;
}

/** The body exactly as the upstream sends it. */
export function fixtureBodyText(fixture: UpstreamFixture): string {
  return fixture.bodyText ?? JSON.stringify(fixture.body);
}

/** The fixture as the adapter receives it from `fetchUpstream`; `headers` are merged over the fixture's own. */
export function fixtureResponse(
  kind: string,
  name: string,
  headers: Record<string, string> = {},
): UpstreamResponse {
  const fixture = readFixture(kind, name);
  return {
    status: fixture.status,
    headers: new Headers({ ...fixture.headers, ...headers }),
    bodyText: fixtureBodyText(fixture),
  };
}

/** The parsed body (for building variations of a documented body in tests). */
export function fixtureBody(kind: string, name: string): Record<string, unknown> {
  return JSON.parse(fixtureBodyText(readFixture(kind, name))) as Record<string, unknown>;
}

/** The reading of a status outcome (fails the test with the failure otherwise). */
export function readingOf(outcome: PollOutcome): StatusReading {
  if (outcome.kind !== 'status') throw new Error(`expected a status, got ${JSON.stringify(outcome.failure)}`);
  return outcome.reading;
}

/** The failure of a failure outcome (fails the test with the reading otherwise). */
export function failureOf(outcome: PollOutcome): UpstreamFailure {
  if (outcome.kind !== 'failure')
    throw new Error(`expected a failure, got ${JSON.stringify(outcome.reading)}`);
  return outcome.failure;
}

/** An upstream answer built in a test (a variation of a fixture body). */
export function answerOf(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): UpstreamResponse {
  return { status, bodyText: JSON.stringify(body), headers: new Headers(headers) };
}
