/**
 * The local host's request (dev/localRequest.ts) reads as the real `HttpRequest` of @azure/functions built from
 * the same request: a handler cannot tell them apart.
 */
import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { LocalHttpRequest, type LocalRequestInit } from '../../dev/localRequest';

function both(init: LocalRequestInit): [LocalHttpRequest, HttpRequest] {
  const real = new HttpRequest({
    method: init.method,
    url: init.url().href,
    headers: init.headers,
    query: Object.fromEntries(init.url().searchParams),
    params: init.params,
    ...(init.body.length > 0 ? { body: { bytes: init.body } } : {}),
  });
  return [new LocalHttpRequest(init), real];
}

const GET: LocalRequestInit = {
  method: 'GET',
  url: () =>
    new URL('http://localhost:7071/api/jobs/0123456789abcdef0123456789abcdef/status?x=1&y=two%20words'),
  headers: {
    host: 'localhost:7071',
    'if-none-match': 'W/"abc"',
    prefer: 'wait=20',
    'x-ms-client-principal-name': 'someone',
    accept: 'application/json',
  },
  params: { id: '0123456789abcdef0123456789abcdef' },
  body: Buffer.alloc(0),
};

describe('the local host request', () => {
  it('reads method, url, headers, query and params as the Functions request does', () => {
    // Prepare
    const [local, real] = both(GET);

    // Act
    const read = (r: HttpRequest) => ({
      method: r.method,
      url: r.url,
      ifNoneMatch: r.headers.get('If-None-Match'),
      prefer: r.headers.get('PREFER'),
      missing: r.headers.get('authorization'),
      hasAccept: r.headers.has('Accept'),
      entries: [...r.headers],
      keys: [...r.headers.keys()],
      values: [...r.headers.values()],
      forEach: (() => {
        const seen: string[] = [];
        r.headers.forEach((value, name) => seen.push(`${name}=${value}`));
        return seen;
      })(),
      query: [...r.query],
      y: r.query.get('y'),
      params: r.params,
      user: r.user,
      bodyUsed: r.bodyUsed,
    });

    // Assess
    expect(read(local)).toEqual(read(real));
    expect(read(local).ifNoneMatch).toBe('W/"abc"');
  });

  it('reads a body as text and as JSON as the Functions request does, once', async () => {
    // Prepare
    const init: LocalRequestInit = {
      ...GET,
      method: 'POST',
      url: () => new URL('http://localhost:7071/api/jobs'),
      headers: { 'content-type': 'application/json', 'content-length': '16' },
      params: {},
      body: Buffer.from('{"kind":"é","n":1}'),
    };
    const [local, real] = both(init);
    const [localJson, realJson] = both(init);

    // Act
    const texts = [await local.text(), await real.text()];
    const jsons = [await localJson.json(), await realJson.json()];

    // Assess
    expect(texts[0]).toBe(texts[1]);
    expect(jsons[0]).toEqual(jsons[1]);
    expect(local.bodyUsed).toBe(true);
    await expect(local.text()).rejects.toThrow(TypeError);
  });

  it('changes its headers as the Functions request does', () => {
    // Prepare
    const [local, real] = both(GET);

    // Act
    for (const r of [local, real]) {
      r.headers.set('Prefer', ' wait=0 ');
      r.headers.append('X-Extra', 'a');
      r.headers.append('x-extra', 'b');
      r.headers.delete('ACCEPT');
    }

    // Assess
    expect([...local.headers]).toEqual([...real.headers]);
    expect(local.headers.get('x-extra')).toBe('a, b');
  });
});
