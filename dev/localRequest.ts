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

  readonly arrayBuffer = (): Promise<ArrayBuffer> => this.request.arrayBuffer();
  readonly blob = (): Promise<Blob> => this.request.blob();
  readonly formData = (): Promise<FormData> => this.request.formData();
  readonly json = (): Promise<unknown> => this.request.json();
  readonly text = (): Promise<string> => this.request.text();
  readonly clone = (): HttpRequest => this.request.clone();
}

/** A request's headers as fetch's `Headers` has them: names in any case, entries sorted, values joined by ', '. */
class RequestHeaders implements Headers {
  constructor(private readonly map: Record<string, string>) {}

  readonly get = (name: string): string | null =>
    Object.hasOwn(this.map, name.toLowerCase()) ? this.map[name.toLowerCase()]! : null;

  readonly has = (name: string): boolean => Object.hasOwn(this.map, name.toLowerCase());

  readonly getSetCookie = (): string[] => {
    const cookie = this.get('set-cookie');
    return cookie === null ? [] : [cookie];
  };

  readonly forEach = (
    callback: (value: string, key: string, iterable: Headers) => void,
    thisArg?: unknown,
  ): void => {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  };

  readonly entries = (): EntryIterator =>
    Object.keys(this.map)
      .sort()
      .map((name): [string, string] => [name, this.map[name]!])
      .values();

  readonly keys = (): NameIterator => Object.keys(this.map).sort().values();

  readonly values = (): NameIterator =>
    Object.keys(this.map)
      .sort()
      .map((name) => this.map[name]!)
      .values();

  readonly [Symbol.iterator] = (): EntryIterator => this.entries();

  readonly set = (name: string, value: string): void => {
    this.map[name.toLowerCase()] = value.trim();
  };

  readonly append = (name: string, value: string): void => {
    const current = this.get(name);
    this.set(name, current === null ? value : `${current}, ${value.trim()}`);
  };

  readonly delete = (name: string): void => {
    delete this.map[name.toLowerCase()];
  };
}

type EntryIterator = ReturnType<Headers['entries']>;
type NameIterator = ReturnType<Headers['keys']>;
