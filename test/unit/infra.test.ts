import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_SCHEDULE, loadConfig, SETTINGS } from '../../shared/config';
import { POLL_QUEUE_NAME } from '../../shared/queue/message';
import { METRICS } from '../../shared/telemetry';
import { listAdapters } from '../../shared/upstream/registry';

/*
 * No Bicep compiler can run on this machine (it downloads its binary), so these tests read infra/ as text: the
 * app settings against the code's settings list, identities and roles, no shared keys, the workbook and alerts
 * against the metrics the code emits (shared/telemetry), and module parameters against the modules' declarations.
 */

const root = path.resolve(__dirname, '../..');
const infra = path.join(root, 'infra');

function read(relativePath: string): string {
  return readFileSync(path.join(root, relativePath), 'utf8');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// A small Bicep reader: enough structure (blocks, object keys, params, outputs, modules) for the checks below.

interface Bicep {
  file: string;
  text: string;
  /** Comments blanked (same length), strings kept. */
  noComments: string;
  /** Comments and string contents blanked (same length): braces and keys outside strings only. */
  code: string;
}

interface Entry {
  key: string;
  /** The value's text on the key's line (comments removed, trimmed). */
  value: string;
  /** Index of the value's first character. */
  at: number;
}

function blank(chars: string[], from: number, to: number): void {
  for (let k = from; k < to; k++) if (chars[k] !== '\n') chars[k] = ' ';
}

function scanBicep(file: string, text: string): Bicep {
  const noComments = text.split('');
  const code = text.split('');
  const n = text.length;
  const skipString = (start: number): number => {
    if (text.startsWith("'''", start)) {
      const end = text.indexOf("'''", start + 3);
      return end < 0 ? n : end + 3;
    }
    let j = start + 1;
    while (j < n) {
      const c = text[j];
      if (c === '\\') j += 2;
      else if (c === "'") return j + 1;
      else if (c === '$' && text[j + 1] === '{') j = skipInterpolation(j + 2);
      else j++;
    }
    return n;
  };
  const skipInterpolation = (start: number): number => {
    let depth = 1;
    let j = start;
    while (j < n) {
      const c = text[j];
      if (c === "'") {
        j = skipString(j);
        continue;
      }
      if (c === '{') depth++;
      if (c === '}' && --depth === 0) return j + 1;
      j++;
    }
    return n;
  };
  let i = 0;
  while (i < n) {
    if (text.startsWith('//', i) || text.startsWith('/*', i)) {
      const line = text.startsWith('//', i);
      const end = text.indexOf(line ? '\n' : '*/', i + 2);
      const stop = end < 0 ? n : line ? end : end + 2;
      blank(noComments, i, stop);
      blank(code, i, stop);
      i = stop;
    } else if (text[i] === "'") {
      const stop = skipString(i);
      blank(code, i + 1, stop - 1);
      i = stop;
    } else {
      i++;
    }
  }
  return { file, text, noComments: noComments.join(''), code: code.join('') };
}

function bicep(relativePath: string): Bicep {
  return scanBicep(relativePath, read(relativePath));
}

/** Index of the `}` that closes the `{` at `open`. */
function closing(src: Bicep, open: number): number {
  if (src.code[open] !== '{') throw new Error(`${src.file}: no object at offset ${open}`);
  let depth = 0;
  for (let i = open; i < src.code.length; i++) {
    const c = src.code[i];
    if (c === '{' || c === '[') depth++;
    if ((c === '}' || c === ']') && --depth === 0) return i;
  }
  throw new Error(`${src.file}: unbalanced braces from offset ${open}`);
}

/** The keys of the object whose `{` is at `open` (its own keys, not nested ones), in order. */
function entries(src: Bicep, open: number): Entry[] {
  const close = closing(src, open);
  const found: Entry[] = [];
  let depth = 0;
  for (let i = open; i < close; i++) {
    const c = src.code[i];
    if (c === '{' || c === '[' || c === '(') depth++;
    if (c === '}' || c === ']' || c === ')') depth--;
    if (c !== '\n' || depth !== 1) continue;
    const lineEnd = src.code.indexOf('\n', i + 1);
    const line = src.code.slice(i + 1, lineEnd < 0 ? undefined : lineEnd);
    const match = /^(\s*)('\s*'|[A-Za-z_]\w*)\s*:\s*/.exec(line);
    if (!match) continue;
    const keyStart = i + 1 + match[1]!.length;
    const rawKey = src.noComments.slice(keyStart, keyStart + match[2]!.length);
    const at = i + 1 + match[0].length;
    const value = src.noComments.slice(at, lineEnd < 0 ? undefined : lineEnd).trim();
    found.push({ key: rawKey.replace(/^'|'$/g, ''), value, at });
  }
  return found;
}

function entry(src: Bicep, open: number, key: string): Entry {
  const found = entries(src, open).find((e) => e.key === key);
  if (!found) throw new Error(`${src.file}: no '${key}' in the object at offset ${open}`);
  return found;
}

/** The `{` of the object found by following `keys` from the object at `open`. */
function objectAt(src: Bicep, open: number, ...keys: string[]): number {
  let at = open;
  for (const key of keys) {
    const e = entry(src, at, key);
    at = src.code.indexOf('{', e.at);
    if (at < 0 || src.code.slice(e.at, at).trim() !== '')
      throw new Error(`${src.file}: '${key}' is not an object`);
  }
  return at;
}

/** The value text at `keys` below the object at `open`. */
function valueAt(src: Bicep, open: number, ...keys: string[]): string {
  const last = keys[keys.length - 1]!;
  return entry(src, objectAt(src, open, ...keys.slice(0, -1)), last).value;
}

interface Declaration {
  symbol: string;
  type: string;
  existing: boolean;
  open: number;
}

function resources(src: Bicep, typePrefix: string): Declaration[] {
  const found: Declaration[] = [];
  for (const m of src.noComments.matchAll(
    /^[ \t]*resource\s+(\w+)\s+'([^']+)'(\s+existing)?\s*=[^{\n]*\{/gm,
  )) {
    if (!m[2]!.startsWith(typePrefix)) continue;
    found.push({ symbol: m[1]!, type: m[2]!, existing: Boolean(m[3]), open: m.index + m[0].length - 1 });
  }
  return found;
}

function resource(src: Bicep, typePrefix: string): Declaration {
  const created = resources(src, typePrefix).filter((r) => !r.existing);
  if (created.length !== 1)
    throw new Error(`${src.file}: expected one ${typePrefix} resource, found ${created.length}`);
  return created[0]!;
}

interface Param {
  name: string;
  type: string;
  defaultValue?: string;
}

function params(src: Bicep): Map<string, Param> {
  const found = new Map<string, Param>();
  for (const m of src.noComments.matchAll(/^param\s+(\w+)\s+([\w.[\]?]+)[ \t]*(?:=[ \t]*(.+?))?[ \t]*$/gm)) {
    found.set(m[1]!, { name: m[1]!, type: m[2]!, ...(m[3] !== undefined ? { defaultValue: m[3] } : {}) });
  }
  return found;
}

function vars(src: Bicep): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of src.noComments.matchAll(/^var\s+(\w+)\s*=[ \t]*(.+?)[ \t]*$/gm)) found.set(m[1]!, m[2]!);
  return found;
}

function outputs(src: Bicep): string[] {
  return [...src.noComments.matchAll(/^output\s+(\w+)\s/gm)].map((m) => m[1]!);
}

interface ModuleCall {
  symbol: string;
  path: string;
  args: Map<string, string>;
}

function modules(src: Bicep): ModuleCall[] {
  return [...src.noComments.matchAll(/^[ \t]*module\s+(\w+)\s+'([^']+)'\s*=[^{\n]*\{/gm)].map((m) => {
    const open = m.index + m[0].length - 1;
    const args = new Map(entries(src, objectAt(src, open, 'params')).map((e) => [e.key, e.value]));
    return { symbol: m[1]!, path: m[2]!, args };
  });
}

/** A file's parameters, bound to a caller's module arguments when there is one. */
interface Scope {
  src: Bicep;
  caller?: { scope: Scope; args: Map<string, string> };
}

/**
 * The deployed value of a simple expression, with every parameter at its default: literals, params, vars,
 * `string(x)` and `empty(a) ? b : c`. Anything else fails the test that asks.
 */
function evaluate(scope: Scope, expression: string): string {
  const expr = expression.trim();
  let m: RegExpExecArray | null;
  if ((m = /^'([^'$]*)'$/.exec(expr))) return m[1]!;
  if (/^-?\d+$/.test(expr) || expr === 'true' || expr === 'false') return expr;
  if ((m = /^string\((.+)\)$/.exec(expr))) return evaluate(scope, m[1]!);
  if ((m = /^empty\((\w+)\)\s*\?\s*(\w+)\s*:\s*(\w+)$/.exec(expr))) {
    return evaluate(scope, evaluate(scope, m[1]!) === '' ? m[2]! : m[3]!);
  }
  if ((m = /^(\w+)\s*\?\s*(\S+)\s*:\s*(\S+)$/.exec(expr))) {
    return evaluate(scope, evaluate(scope, m[1]!) === 'true' ? m[2]! : m[3]!);
  }
  if (/^\w+$/.test(expr)) {
    const passed = scope.caller?.args.get(expr);
    if (passed !== undefined && scope.caller) return evaluate(scope.caller.scope, passed);
    const param = params(scope.src).get(expr);
    if (param?.defaultValue !== undefined) return evaluate(scope, param.defaultValue);
    const variable = vars(scope.src).get(expr);
    if (variable !== undefined) return evaluate(scope, variable);
  }
  throw new Error(`${scope.src.file}: cannot evaluate '${expr}'`);
}

/** A minimal YAML reader for azure.yaml: nested maps of `key: value` lines (no lists or multi-line values). */
function readYamlMap(text: string): Record<string, unknown> {
  const rootMap: Record<string, unknown> = {};
  const stack: { indent: number; map: Record<string, unknown> }[] = [{ indent: -1, map: rootMap }];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '');
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const m = /^(\s*)([\w.-]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1]!.length;
    while (stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.map;
    if (m[3] === '') {
      const child: Record<string, unknown> = {};
      parent[m[2]!] = child;
      stack.push({ indent, map: child });
    } else {
      parent[m[2]!] = m[3]!.replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return rootMap;
}

function dig(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

// ---------------------------------------------------------------------------------------------------------------

const main = bicep('infra/main.bicep');
const functionApp = bicep('infra/app/function.bicep');
const bicepFiles = filesUnder(infra)
  .filter((f) => f.endsWith('.bicep'))
  .map((f) => bicep(path.relative(root, f)));

function appSettings(): Entry[] {
  const config = resources(functionApp, 'Microsoft.Web/sites/config@').find(
    (r) => valueAt(functionApp, r.open, 'name') === "'appsettings'",
  );
  if (!config) throw new Error('function.bicep: no Microsoft.Web/sites/config resource named appsettings');
  return entries(functionApp, objectAt(functionApp, config.open, 'properties'));
}

function appSettingNames(): string[] {
  return appSettings().map((e) => e.key);
}

/** The function module's scope, bound to main.bicep's arguments. */
function functionScope(): Scope {
  const call = modules(main).find((m) => m.path === './app/function.bicep');
  if (!call) throw new Error('main.bicep does not call ./app/function.bicep');
  return { src: functionApp, caller: { scope: { src: main }, args: call.args } };
}

/** The code's own defaults, from loadConfig with only the required settings. */
const codeDefaults = loadConfig({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://example.vault.azure.net',
});

const LOCAL_ONLY = ['PORT'];
/** Connection-string settings that identity-based deployment replaces with their `__` forms. */
const REPLACED_BY_IDENTITY = ['AzureWebJobsStorage', 'STATUS_STORAGE', 'POLL_QUEUE'];

describe('function app settings', () => {
  it('the app settings name every setting the code reads', () => {
    const names = appSettingNames();
    const required = [
      ...Object.keys(SETTINGS).filter((k) => !LOCAL_ONLY.includes(k) && !REPLACED_BY_IDENTITY.includes(k)),
      'AzureWebJobsStorage__accountName',
    ];
    expect(required.filter((name) => !names.includes(name))).toEqual([]);
  });

  it('every app setting is one the code or the Functions host knows', () => {
    const codeNames = Object.keys(SETTINGS).filter((k) => !LOCAL_ONLY.includes(k));
    const known = (name: string): boolean =>
      codeNames.includes(name) || /^(FUNCTIONS_|APPLICATIONINSIGHTS_|AzureWebJobsStorage__)/.test(name);
    expect(appSettingNames().filter((name) => !known(name))).toEqual([]);
  });

  it('storage is reached with the managed identity, never a connection string', () => {
    const settings = new Map(appSettings().map((e) => [e.key, e.value]));
    for (const name of REPLACED_BY_IDENTITY) expect(settings.has(name), name).toBe(false);
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(settings.get('STATUS_STORAGE__clientId')).toBe('identityClientId');
    expect(settings.get('AZURE_CLIENT_ID')).toBe('identityClientId');
    expect(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe(
      "'ClientId=${identityClientId};Authorization=AAD'",
    );
    const storage = bicep('infra/app/storage.bicep');
    expect(storage.noComments).toMatch(
      /output tableServiceUri string = 'https:\/\/\$\{storage\.name\}\.table\.\$\{environment\(\)\.suffixes\.storage\}'/,
    );
  });

  it('the polls queue is reached with the identity, on the account whose queues it may use', () => {
    const settings = new Map(appSettings().map((e) => [e.key, e.value]));
    expect(settings.get('POLL_QUEUE__credential')).toBe("'managedidentity'");
    expect(settings.get('POLL_QUEUE__clientId')).toBe('identityClientId');
    // The endpoint is the storage module's queue endpoint, passed through main.bicep.
    const uri = settings.get('POLL_QUEUE__queueServiceUri') ?? '(none)';
    expect(functionScope().caller?.args.get(uri)).toBe('storage.outputs.queueServiceUri');
    const storage = bicep('infra/app/storage.bicep');
    expect(storage.noComments).toMatch(
      /output queueServiceUri string = 'https:\/\/\$\{storage\.name\}\.queue\.\$\{environment\(\)\.suffixes\.storage\}'/,
    );
    // The queues exist from the start: the one pollJob is triggered by and its poison queue.
    const queues = resources(storage, 'Microsoft.Storage/storageAccounts/queueServices/queues@').map((q) =>
      valueAt(storage, q.open, 'name'),
    );
    expect(queues.sort()).toEqual([`'${POLL_QUEUE_NAME}'`, `'${POLL_QUEUE_NAME}-poison'`]);
    // The identity may send, receive and delete on that account (Storage Queue Data Contributor).
    const rbac = bicep('infra/app/rbac.bicep');
    const queueRole = resources(rbac, 'Microsoft.Authorization/roleAssignments@').filter((a) =>
      /storageQueueDataContributor/.test(valueAt(rbac, a.open, 'properties', 'roleDefinitionId')),
    );
    expect(queueRole.map((a) => valueAt(rbac, a.open, 'scope'))).toEqual(['storage']);
    expect(
      modules(main)
        .find((m) => m.path === './app/rbac.bicep')
        ?.args.get('storageAccountName'),
    ).toBe('storage.outputs.name');
  });

  it('the app settings as deployed pass the config schema, with the polls queue on POLL_QUEUE', () => {
    // Every app setting with a deploy-time value gets a value of its kind; literals are evaluated.
    const placeholders: [RegExp, string][] = [
      [/__accountName$/, 'stcache01'],
      [/__tableServiceUri$/, 'https://stcache01.table.core.windows.net'],
      [/__queueServiceUri$/, 'https://stcache01.queue.core.windows.net'],
      [/(__clientId|^AZURE_CLIENT_ID)$/, '00000000-0000-0000-0000-000000000001'],
      [/^KEY_VAULT_URL$/, 'https://kv-cache.vault.azure.net'],
      [
        /^APPLICATIONINSIGHTS_CONNECTION_STRING$/,
        'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
      ],
      [
        /^APPLICATIONINSIGHTS_AUTHENTICATION_STRING$/,
        'ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD',
      ],
    ];
    const env: Record<string, string> = {};
    for (const { key, value } of appSettings()) {
      const placeholder = placeholders.find(([pattern]) => pattern.test(key))?.[1];
      env[key] = placeholder ?? evaluate(functionScope(), value);
    }

    const config = loadConfig(env);

    expect(config.pollQueue).toEqual({
      connection: 'POLL_QUEUE',
      kind: 'identity',
      queueServiceUri: 'https://stcache01.queue.core.windows.net',
      managedIdentity: true,
      clientId: '00000000-0000-0000-0000-000000000001',
    });
    expect(config.storage.kind).toBe('identity');
    expect(config.telemetry).toMatchObject({
      entraId: { clientId: '00000000-0000-0000-0000-000000000001' },
      exportIntervalMs: 60_000,
    });
  });

  it("the deployment's defaults are the code's defaults", () => {
    const scope = functionScope();
    const deployed = new Map(appSettings().map((e) => [e.key, e.value]));
    const expected: Record<string, string> = {
      POLL_SCHEDULE: DEFAULT_POLL_SCHEDULE,
      ALLOWED_UPSTREAM_HOSTS: codeDefaults.allowedUpstreamOrigins.join(','),
      UPSTREAM_RATE_LIMITS: codeDefaults.rateLimits.size === 0 ? '' : 'kind defaults',
      SECRET_CACHE_TTL_SECONDS: String(codeDefaults.secretCacheTtlMs / 1000),
      UPSTREAM_TIMEOUT_SECONDS: String(codeDefaults.upstreamTimeoutMs / 1000),
      CYCLE_DEADLINE_SECONDS: String(codeDefaults.cycleDeadlineMs / 1000),
      CYCLE_MAX_JOBS: String(codeDefaults.cycleMaxJobs),
      IDLE_INTERVAL_SECONDS: String(codeDefaults.idleIntervalMs / 1000),
    };
    const actual = Object.fromEntries(
      Object.keys(expected).map((name) => {
        const value = deployed.get(name);
        return [name, value === undefined ? '(missing)' : evaluate(scope, value)];
      }),
    );
    expect(actual).toEqual(expected);
  });

  it("UPSTREAM_RATE_LIMITS' description states every kind's default budget", () => {
    const description =
      /@description\('(UPSTREAM_RATE_LIMITS[^']*)'\)/.exec(read('infra/main.bicep'))?.[1] ?? '';
    for (const adapter of listAdapters()) {
      const perMinute = (adapter.defaultBudget.calls * 60_000) / adapter.defaultBudget.periodMs;
      expect(description).toContain(`${adapter.kind} ${perMinute}/min`);
    }
  });
});

describe('no shared keys or secrets in infra/', () => {
  it('no Bicep or parameter file holds an account key, a shared access key or a key-built connection string', () => {
    const forbidden: [string, RegExp][] = [
      ['AccountKey=', /AccountKey=/i],
      ['listKeys(', /listKeys\s*\(/i],
      ['SharedAccessKey', /SharedAccessKey/i],
      ['DefaultEndpointsProtocol= (storage connection string)', /DefaultEndpointsProtocol=/i],
      ['listAccountSas( / listServiceSas(', /list(Account|Service)Sas\s*\(/i],
      ['.keys[n] / primaryKey / primarySharedKey', /\.keys\[\d\]|primary(Shared)?Key|secondary(Shared)?Key/i],
    ];
    const files = filesUnder(infra).filter((f) => /\.(bicep|json|bicepparam)$/.test(f));
    const hits: string[] = [];
    for (const file of files) {
      const raw = readFileSync(file, 'utf8');
      const text = file.endsWith('.bicep') ? scanBicep(file, raw).noComments : raw;
      for (const [what, pattern] of forbidden) {
        if (pattern.test(text)) hits.push(`${path.relative(root, file)}: ${what}`);
      }
    }
    expect(hits).toEqual([]);
  });

  it('no output is named like a key, a secret or a connection string', () => {
    const allowed = new Set(['APPLICATIONINSIGHTS_CONNECTION_STRING', 'applicationInsightsConnectionString']);
    const suspicious = bicepFiles.flatMap((src) =>
      outputs(src)
        .filter((name) => !allowed.has(name))
        .filter((name) =>
          /key|secret|password|connection_?string|sas|token|credential/i.test(
            name.replace(/key_?vault/gi, ''),
          ),
        )
        .map((name) => `${src.file}: ${name}`),
    );
    expect(suspicious).toEqual([]);
  });

  it('main.bicep outputs the names azd and the app settings use', () => {
    const names = outputs(main);
    const required = [
      'AZURE_LOCATION',
      'AZURE_TENANT_ID',
      'AZURE_RESOURCE_GROUP',
      'KEY_VAULT_URL',
      'AZURE_KEY_VAULT_NAME',
      'STATUS_STORAGE__tableServiceUri',
      'POLL_QUEUE__queueServiceUri',
      'AZURE_STORAGE_ACCOUNT_NAME',
      'AZURE_CLIENT_ID',
      'AZURE_FUNCTION_APP_NAME',
      'AZURE_FUNCTION_URL',
      'SERVICE_API_ENDPOINTS',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ];
    expect(required.filter((name) => !names.includes(name))).toEqual([]);
  });
});

describe('resources', () => {
  it('the storage account refuses shared keys and anonymous blob access', () => {
    const src = bicep('infra/app/storage.bicep');
    const account = resource(src, 'Microsoft.Storage/storageAccounts@');
    const props = new Map(
      entries(src, objectAt(src, account.open, 'properties')).map((e) => [e.key, e.value]),
    );
    expect(valueAt(src, account.open, 'kind')).toBe("'StorageV2'");
    expect(props.get('allowSharedKeyAccess')).toBe('false');
    expect(props.get('allowBlobPublicAccess')).toBe('false');
    expect(props.get('minimumTlsVersion')).toBe("'TLS1_2'");
    expect(props.get('supportsHttpsTrafficOnly')).toBe('true');
    expect(resources(src, 'Microsoft.Storage/storageAccounts/blobServices/containers@')).toHaveLength(1);
    expect(resources(src, 'Microsoft.Storage/storageAccounts/tableServices@')).toHaveLength(1);
    const anywhere = bicepFiles
      .filter((f) => /allowSharedKeyAccess:\s*true/.test(f.noComments))
      .map((f) => f.file);
    expect(anywhere).toEqual([]);
  });

  it('the vault authorises with Azure RBAC and keeps deleted secrets under purge protection', () => {
    const src = bicep('infra/app/keyvault.bicep');
    const vault = resource(src, 'Microsoft.KeyVault/vaults@');
    const props = new Map(entries(src, objectAt(src, vault.open, 'properties')).map((e) => [e.key, e.value]));
    expect(props.get('enableRbacAuthorization')).toBe('true');
    expect(props.get('enableSoftDelete')).toBe('true');
    expect(props.get('enablePurgeProtection')).toBe('true');
    expect(Number(props.get('softDeleteRetentionInDays'))).toBe(90);
    expect(props.has('accessPolicies')).toBe(false);
    expect(evaluate({ src }, 'publicNetworkAccess')).toBe('Enabled');
  });

  it('Application Insights is workspace-based and accepts telemetry only with Entra ID', () => {
    const src = bicep('infra/app/monitoring.bicep');
    const component = resource(src, 'Microsoft.Insights/components@');
    expect(valueAt(src, component.open, 'properties', 'DisableLocalAuth')).toBe('true');
    expect(valueAt(src, component.open, 'properties', 'WorkspaceResourceId')).toBe('logAnalytics.id');
    expect(resources(src, 'Microsoft.OperationalInsights/workspaces@')).toHaveLength(1);
  });

  it('the function app runs on Flex Consumption, Node 22, Linux, with a user-assigned identity', () => {
    const src = functionApp;
    const plan = resource(src, 'Microsoft.Web/serverfarms@');
    expect(valueAt(src, plan.open, 'sku', 'name')).toBe("'FC1'");
    expect(valueAt(src, plan.open, 'sku', 'tier')).toBe("'FlexConsumption'");
    expect(valueAt(src, plan.open, 'properties', 'reserved')).toBe('true');

    const site = resource(src, 'Microsoft.Web/sites@');
    expect(valueAt(src, site.open, 'kind')).toBe("'functionapp,linux'");
    expect(valueAt(src, site.open, 'tags')).toContain("'azd-service-name': 'api'");
    expect(valueAt(src, site.open, 'identity', 'type')).toBe("'UserAssigned'");
    expect(valueAt(src, site.open, 'properties', 'serverFarmId')).toBe(`${plan.symbol}.id`);
    expect(valueAt(src, site.open, 'properties', 'httpsOnly')).toBe('true');
    expect(valueAt(src, site.open, 'properties', 'siteConfig', 'minTlsVersion')).toBe("'1.2'");
    expect(valueAt(src, site.open, 'properties', 'siteConfig', 'ftpsState')).toBe("'Disabled'");
    const config = ['properties', 'functionAppConfig'];
    expect(valueAt(src, site.open, ...config, 'runtime', 'name')).toBe("'node'");
    expect(valueAt(src, site.open, ...config, 'runtime', 'version')).toBe("'22'");
    const storage = [...config, 'deployment', 'storage'];
    expect(valueAt(src, site.open, ...storage, 'type')).toBe("'blobContainer'");
    expect(valueAt(src, site.open, ...storage, 'authentication', 'type')).toBe("'UserAssignedIdentity'");
    expect(valueAt(src, site.open, ...storage, 'authentication', 'userAssignedIdentityResourceId')).toBe(
      'identityId',
    );
    const scale = [...config, 'scaleAndConcurrency'];
    expect(evaluate(functionScope(), valueAt(src, site.open, ...scale, 'instanceMemoryMB'))).toBe('2048');
    expect(
      Number(evaluate(functionScope(), valueAt(src, site.open, ...scale, 'maximumInstanceCount'))),
    ).toBeGreaterThan(0);

    // Flex Consumption takes the runtime from functionAppConfig and refuses these settings.
    const refused = ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE'];
    expect(appSettingNames().filter((name) => refused.includes(name))).toEqual([]);
  });

  it('rbac.bicep grants each role the app needs, with the role named in a comment', () => {
    const roles: [string, string][] = [
      ['Storage Blob Data Owner', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'],
      ['Storage Queue Data Contributor', '974c5e8b-45b9-4653-ba55-5f855dd0fb88'],
      ['Storage Table Data Contributor', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'],
      ['Key Vault Secrets User', '4633458b-17de-408a-b874-0445c86b69e6'],
      ['Monitoring Metrics Publisher', '3913510d-42f4-4e42-8a64-420c390055eb'],
      ['EventGrid Data Sender', 'd5a91429-5739-47e2-a06b-3470a27159e7'],
    ];
    const src = bicep('infra/app/rbac.bicep');
    const lines = src.text.split('\n');
    const assignments = resources(src, 'Microsoft.Authorization/roleAssignments@');
    const problems: string[] = [];
    for (const [role, id] of roles) {
      const index = lines.findIndex((line) => line.includes(id) && !line.trim().startsWith('//'));
      if (index < 0) {
        problems.push(`${role}: ${id} is not in rbac.bicep`);
        continue;
      }
      const comment = (line: string | undefined): string =>
        line?.includes('//') ? line.slice(line.indexOf('//')) : '';
      const named = [comment(lines[index]), comment(lines[index - 1])].some((c) => c.includes(role));
      if (!named) problems.push(`${role}: no comment naming it on or above line ${index + 1}`);
      const variable = /^\s*var\s+(\w+)\s*=/.exec(lines[index]!)?.[1];
      const granted = assignments.some((a) => {
        const definition = valueAt(src, a.open, 'properties', 'roleDefinitionId');
        return (
          (definition.includes(id) ||
            (variable !== undefined && new RegExp(`\\b${variable}\\b`).test(definition))) &&
          valueAt(src, a.open, 'properties', 'principalId') === 'identityPrincipalId' &&
          valueAt(src, a.open, 'properties', 'principalType') === "'ServicePrincipal'" &&
          /^guid\(/.test(valueAt(src, a.open, 'name'))
        );
      });
      if (!granted)
        problems.push(`${role}: not assigned to the app's identity as a ServicePrincipal with a guid() name`);
    }
    expect(problems).toEqual([]);

    // The deploying user may add subscription keys.
    const officer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';
    const officerLine = lines.findIndex((line) => line.includes(officer) && !line.trim().startsWith('//'));
    expect(officerLine).toBeGreaterThan(0);
    expect(`${lines[officerLine - 1]}${lines[officerLine]}`).toContain('Key Vault Secrets Officer');
    expect(assignments.some((a) => valueAt(src, a.open, 'properties', 'principalId') === 'principalId')).toBe(
      true,
    );
  });
});

describe('Event Grid in infra (docs/spec.md §12)', () => {
  it('creates an optional CloudEvents topic with local auth off, grants the app EventGrid Data Sender on it and wires its endpoint', () => {
    // Prepare
    const topic = bicep('infra/app/eventgrid.bicep');
    const rbac = bicep('infra/app/rbac.bicep');

    // Assess: the topic takes CloudEvents 1.0 and only Entra ID tokens.
    expect(topic.text).toContain("inputSchema: 'CloudEventSchemaV1_0'");
    expect(topic.text).toContain('disableLocalAuth: true');
    // Created only when asked; its endpoint becomes EVENT_GRID_TOPIC_ENDPOINT unless one is given.
    expect(main.text).toMatch(/param createEventGridTopic bool = false/);
    expect(main.text).toMatch(
      /module eventGridTopic '\.\/app\/eventgrid\.bicep' = if \(createEventGridTopic\)/,
    );
    expect(main.text).toMatch(
      /eventGridTopicEndpoint: empty\(eventGridTopicEndpoint\) \? createdEventGridEndpoint/,
    );
    expect(main.text).toMatch(
      /var createdEventGridEndpoint = createEventGridTopic \? eventGridTopic!\.outputs\.endpoint : ''/,
    );
    // The role is scoped on the topic, not the resource group.
    const sender = resources(rbac, 'Microsoft.Authorization/roleAssignments@').find((a) =>
      /eventGridDataSender/.test(valueAt(rbac, a.open, 'properties', 'roleDefinitionId')),
    );
    expect(sender).toBeDefined();
    expect(valueAt(rbac, sender!.open, 'scope')).toBe('topic');
  });
});

describe('Bicep wiring (what a compiler would catch)', () => {
  it('every module main.bicep calls exists and gets exactly the parameters it declares', () => {
    const problems: string[] = [];
    for (const call of modules(main)) {
      const file = path.join('infra', call.path);
      if (!existsSync(path.join(root, file))) {
        problems.push(`${call.symbol}: ${file} does not exist`);
        continue;
      }
      const declared = params(bicep(file));
      for (const name of call.args.keys()) {
        if (!declared.has(name)) problems.push(`${call.symbol}: ${file} has no param ${name}`);
      }
      for (const p of declared.values()) {
        const optional = p.defaultValue !== undefined || p.type.endsWith('?');
        if (!optional && !call.args.has(p.name))
          problems.push(`${call.symbol}: required param ${p.name} not passed`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every module output main.bicep reads is declared by that module', () => {
    const calls = new Map(modules(main).map((m) => [m.symbol, m.path]));
    const problems: string[] = [];
    for (const m of main.noComments.matchAll(/\b(\w+)\.outputs\.(\w+)/g)) {
      const modulePath = calls.get(m[1]!);
      if (!modulePath) problems.push(`${m[0]}: no module ${m[1]}`);
      else if (!outputs(bicep(path.join('infra', modulePath))).includes(m[2]!))
        problems.push(`${m[0]}: not declared`);
    }
    expect(problems).toEqual([]);
  });

  it('every file a Bicep file loads exists', () => {
    const missing = bicepFiles.flatMap((src) =>
      [...src.noComments.matchAll(/load(?:Json|Text)Content\('([^']+)'\)/g)]
        .map((m) => path.join(path.dirname(src.file), m[1]!))
        .filter((file) => !existsSync(path.join(root, file))),
    );
    expect(missing).toEqual([]);
  });

  it('main.bicep deploys at subscription scope into rg-<environment> tagged for azd', () => {
    expect(main.noComments).toMatch(/^targetScope = 'subscription'$/m);
    const abbreviations = asRecord(
      JSON.parse(read('infra/abbreviations.json')) as unknown,
      'abbreviations.json',
    );
    expect(abbreviations['resourcesResourceGroups']).toBe('rg-');
    const group = resource(main, 'Microsoft.Resources/resourceGroups@');
    expect(valueAt(main, group.open, 'name')).toBe("'${abbrs.resourcesResourceGroups}${environmentName}'");
    expect(vars(main).get('tags')).toContain("'azd-env-name': environmentName");
    expect(vars(main).get('resourceToken')).toBe(
      'toLower(uniqueString(subscription().id, environmentName, location))',
    );
  });

  it('main.parameters.json maps the azd environment onto the parameters main.bicep declares', () => {
    const file = asRecord(JSON.parse(read('infra/main.parameters.json')) as unknown, 'main.parameters.json');
    const given = asRecord(file['parameters'], 'parameters');
    const declared = params(main);
    expect(Object.keys(given).filter((name) => !declared.has(name))).toEqual([]);
    const unset = [...declared.values()].filter((p) => p.defaultValue === undefined && !(p.name in given));
    expect(unset.map((p) => p.name)).toEqual([]);
    expect(dig(given, 'environmentName', 'value')).toBe('${AZURE_ENV_NAME}');
    expect(dig(given, 'location', 'value')).toBe('${AZURE_LOCATION}');
    expect(dig(given, 'principalId', 'value')).toBe('${AZURE_PRINCIPAL_ID}');
  });
});

describe('azd and the Functions host', () => {
  it('azure.yaml deploys the project as the api service on Azure Functions', () => {
    const yaml = readYamlMap(read('azure.yaml'));
    expect(dig(yaml, 'services', 'api', 'host')).toBe('function');
    expect(dig(yaml, 'services', 'api', 'project')).toBe('.');
    expect(dig(yaml, 'services', 'api', 'language')).toBe('ts');
    const hook = dig(yaml, 'services', 'api', 'hooks', 'prepackage') ?? dig(yaml, 'hooks', 'prepackage');
    const runs = [dig(hook, 'run'), dig(hook, 'posix', 'run'), dig(hook, 'windows', 'run')].filter(Boolean);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run).toBe('npm run build');
  });

  it('host.json bounds a run beyond the cycle deadline and keeps requests and exceptions out of sampling', () => {
    const host = asRecord(JSON.parse(read('host.json')) as unknown, 'host.json');
    const timeout = typeof host['functionTimeout'] === 'string' ? host['functionTimeout'] : '(none)';
    const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(timeout);
    expect(m, `functionTimeout ${timeout}`).not.toBeNull();
    const seconds = Number(m![1]) * 3600 + Number(m![2]) * 60 + Number(m![3]);
    const deadline = Number(evaluate(functionScope(), 'cycleDeadlineSeconds'));
    expect(seconds).toBeGreaterThan(Math.max(deadline, codeDefaults.cycleDeadlineMs / 1000));
    const sampling = asRecord(
      dig(host, 'logging', 'applicationInsights', 'samplingSettings') ?? {},
      'samplingSettings',
    );
    if (sampling['isEnabled'] !== false) {
      const excluded = (typeof sampling['excludedTypes'] === 'string' ? sampling['excludedTypes'] : '').split(
        ';',
      );
      expect(excluded).toEqual(expect.arrayContaining(['Request', 'Exception']));
    }
  });
});

describe('observability', () => {
  const EMITTED: readonly string[] = Object.values(METRICS);

  function workbookCharts(): { title: string; query: string; timed: boolean }[] {
    const workbook = asRecord(JSON.parse(read('infra/app/workbook.json')) as unknown, 'workbook.json');
    const items = workbook['items'];
    if (!Array.isArray(items)) throw new Error('workbook.json has no items');
    return items
      .map((item, i) => asRecord(item, `item ${i}`))
      .filter((item) => item['type'] === 3)
      .map((item) => {
        const content = asRecord(item['content'], 'content');
        return {
          title: String(content['title']),
          query: String(content['query']),
          timed: typeof content['timeContextFromParameter'] === 'string',
        };
      });
  }

  function alertQueries(): string[] {
    const src = bicep('infra/app/alerts.bicep');
    return resources(src, 'Microsoft.Insights/scheduledQueryRules@').map((rule) => {
      const block = src.noComments.slice(rule.open, closing(src, rule.open));
      const variable = /\bquery:\s*(\w+)/.exec(block)?.[1] ?? '(none)';
      return new RegExp(`^var ${variable} = '''([\\s\\S]*?)'''`, 'm').exec(src.text)?.[1] ?? '';
    });
  }

  /** The metric names a query reads (`'statuscache.…'` literals). */
  function metricsNamed(query: string): string[] {
    return [...query.matchAll(/'(statuscache\.[\w.]+)'/g)].map((m) => m[1]!);
  }

  it('the workbook charts polls by outcome, upstream latency, pauses, cycles, status age and transitions', () => {
    const charts = workbookCharts();
    const wanted: [string, RegExp, RegExp][] = [
      [
        'jobs polled by outcome',
        /polled by outcome/i,
        /'statuscache\.polls'[\s\S]*customDimensions\.outcome/,
      ],
      [
        'upstream latency per resource',
        /upstream latency per resource/i,
        /'statuscache\.upstream\.duration'[\s\S]*customDimensions\.resource/,
      ],
      [
        'throttling and quota pauses per resource',
        /throttling and quota pauses/i,
        /'statuscache\.resource\.paused'[\s\S]*customDimensions\.resource[\s\S]*customDimensions\.reason/,
      ],
      ['cycle duration', /cycle duration/i, /'statuscache\.cycle\.duration'/],
      ['status age', /status age/i, /'statuscache\.status\.age'[\s\S]*customDimensions\.kind/],
      [
        'transitions (to failed)',
        /transitions/i,
        /'statuscache\.transitions'[\s\S]*customDimensions\.status/,
      ],
    ];
    const missing = wanted
      .filter(([, title, query]) => !charts.some((c) => title.test(c.title) && query.test(c.query)))
      .map(([name]) => name);
    expect(missing).toEqual([]);
    for (const chart of charts) {
      expect(chart.query, chart.title).toMatch(/^customMetrics\n/);
      expect(chart.timed, `${chart.title} follows the time range`).toBe(true);
    }
    const src = bicep('infra/app/workbook.bicep');
    expect(src.noComments).toContain("loadTextContent('workbook.json')");
    expect(read('infra/app/workbook.json')).toContain('__APPLICATION_INSIGHTS_ID__');
  });

  it('the alerts watch failing or missing cycles, quota pauses and jobs that failed, on customMetrics', () => {
    const src = bicep('infra/app/alerts.bicep');
    const queries = alertQueries();
    expect(queries).toHaveLength(3);
    expect(
      queries.some(
        (q) =>
          q.includes("countif(name == 'statuscache.cycle.duration')") &&
          /cycles == 0/.test(q) &&
          q.includes("tostring(customDimensions.outcome) == 'SecretUnavailable'"),
      ),
    ).toBe(true);
    expect(
      queries.some(
        (q) =>
          q.includes("'statuscache.resource.paused'") &&
          q.includes("tostring(customDimensions.reason) == 'QuotaExceeded'"),
      ),
    ).toBe(true);
    expect(
      queries.some(
        (q) =>
          q.includes("'statuscache.transitions'") &&
          q.includes("tostring(customDimensions.status) == 'failed'"),
      ),
    ).toBe(true);
    for (const q of queries) expect(q).toMatch(/^\s*customMetrics\n/);
    expect(resources(src, 'Microsoft.Insights/actionGroups@')).toHaveLength(1);
    expect(src.noComments).toMatch(/resource actionGroup '[^']+' = if \(!empty\(alertEmail\)\)/);
  });

  it('every metric the workbook and the alerts query is one the code emits', () => {
    const queries = [...workbookCharts().map((c) => c.query), ...alertQueries()];
    const named = new Set(queries.flatMap(metricsNamed));
    expect([...named].filter((name) => !EMITTED.includes(name))).toEqual([]);
    // Each query reads at least one metric, and none reads sampled log lines.
    for (const q of queries) {
      expect(metricsNamed(q).length, q).toBeGreaterThan(0);
      expect(q).not.toMatch(/\btraces\b/);
    }
    // Every metric of docs/spec.md §11 but the webhook deliveries (no notifications yet) is charted or alerted on.
    expect(EMITTED.filter((name) => !named.has(name))).toEqual([METRICS.webhookDeliveries]);
  });

  it('the operations guide quotes every workbook query as it is', () => {
    const guide = read('docs/operations.md');
    const missing = workbookCharts()
      .filter((chart) => !guide.includes(chart.query))
      .map((chart) => chart.title);
    expect(missing).toEqual([]);
  });
});
