import { HttpRequest, type HttpRequestParams, type HttpRequestUser } from '@azure/functions';

/** What the local host read of one request. */
export interface LocalRequestInit {
  method: string;
  /** The request's URL, parsed on first use (a status read never reads it). */
  url: () => URL;
  /**
   * Lower-case names (as node parses them), repeated values joined with ', '. The request owns this object: its
   * `headers` read and change it, and the `HttpRequest` built on first use is built from it.
   */
  headers: Record<string, string>;
  params: HttpRequestParams;
  body: Buffer;
}

/**
 * The request the local host hands a function: the members of `HttpRequest` (@azure/functions), over what the
 * host read from node. Method, url, headers, query and params are plain values; the body readers, `user` and
 * `clone` go to a real `HttpRequest` built on first use. A real one builds an undici `Request` (URL parsing, a
 * validated header list, an AbortSignal): about a third of the local host's own work per status read, which only
 * a request that reads its body needs. Handlers see the same values either way (test/unit/localRequest.test.ts).
 */
export class LocalHttpRequest implements HttpRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly params: HttpRequestParams;
  private parsedUrl: URL | undefined;
  private parsedQuery: URLSearchParams | undefined;
  private full: HttpRequest | undefined;

  constructor(private readonly init: LocalRequestInit) {
    this.method = init.method;
    this.headers = new RequestHeaders(init.headers);
    this.params = init.params;
  }

  get url(): string {
    return this.parsed().href;
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.parsed().search));
  }

  private parsed(): URL {
    return (this.parsedUrl ??= this.init.url());
  }

  /** The request as @azure/functions builds it: for the members that read the body, the user, or a clone. */
  private get request(): HttpRequest {
    const { method, headers, params, body } = this.init;
    const url = this.parsed();
    return (this.full ??= new HttpRequest({
      method,
      url: url.href,
      headers,
      query: Object.fromEntries(url.searchParams),
      params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    }));
  }

  get user(): HttpRequestUser | null {
    return this.request.user;
  }

  get body(): ReadableStream | null {
    return this.request.body;
  }

  get bodyUsed(): boolean {
    return this.full?.bodyUsed ?? false;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.request.arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.request.blob();
  }

  formData(): Promise<FormData> {
    return this.request.formData();
  }

  json(): Promise<unknown> {
    return this.request.json();
  }

  text(): Promise<string> {
    return this.request.text();
  }

  clone(): HttpRequest {
    return this.request.clone();
  }
}

/**
 * A request's headers as fetch's `Headers` has them: names in any case, entries sorted, values joined by ', '.
 * Methods on the prototype (as undici's are), so a request costs one object here, not one closure per method.
 */
class RequestHeaders implements Headers {
  constructor(private readonly map: Record<string, string>) {}

  get(name: string): string | null {
    const key = name.toLowerCase();
    return Object.hasOwn(this.map, key) ? this.map[key]! : null;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.map, name.toLowerCase());
  }

  getSetCookie(): string[] {
    const cookie = this.get('set-cookie');
    return cookie === null ? [] : [cookie];
  }

  forEach(callback: (value: string, key: string, iterable: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  entries(): EntryIterator {
    return this.names()
      .map((name): [string, string] => [name, this.map[name]!])
      .values();
  }

  keys(): NameIterator {
    return this.names().values();
  }

  values(): NameIterator {
    return this.names()
      .map((name) => this.map[name]!)
      .values();
  }

  [Symbol.iterator](): EntryIterator {
    return this.entries();
  }

  set(name: string, value: string): void {
    this.map[name.toLowerCase()] = value.trim();
  }

  append(name: string, value: string): void {
    const current = this.get(name);
    this.set(name, current === null ? value : `${current}, ${value.trim()}`);
  }

  delete(name: string): void {
    delete this.map[name.toLowerCase()];
  }

  private names(): string[] {
    return Object.keys(this.map).sort();
  }
}

type EntryIterator = ReturnType<Headers['entries']>;
type NameIterator = ReturnType<Headers['keys']>;
