/**
 * Upstream dates into ISO 8601 UTC, for every kind: ISO 8601 with up to 9 fractional digits, the US form
 * `1/3/2017 4:11:35 AM` (UTC) some services document beside ISO, and unix seconds. Parsed by hand: `Date.parse`
 * is lenient and host-dependent.
 */

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const US =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:\s*([AaPp][Mm]))?$/;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  offsetMinutes: number;
}

/** ISO 8601 (zone optional: none means UTC) or `M/D/YYYY h:mm:ss AM|PM` (UTC) → ISO UTC; otherwise undefined. */
export function parseIsoOrUsDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  const parts = isoParts(text) ?? usParts(text);
  return parts ? toIso(parts) : undefined;
}

/** ISO 8601 only (zone optional: none means UTC) → ISO UTC; otherwise undefined. */
export function parseIsoDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  const parts = isoParts(text);
  return parts ? toIso(parts) : undefined;
}

function fractionToMs(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
}

function isoParts(text: string): Parts | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const offset = sign === undefined ? 0 : (Number(oh) * 60 + Number(om)) * (sign === '-' ? -1 : 1);
  if (Number(oh ?? 0) > 23 || Number(om ?? 0) > 59) return undefined;
  return {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
    millisecond: fractionToMs(frac),
    offsetMinutes: offset,
  };
}

function usParts(text: string): Parts | undefined {
  const m = US.exec(text);
  if (!m) return undefined;
  const [, mo, d, y, h, mi, s, frac, meridiem] = m;
  let hour = Number(h);
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    const pm = meridiem.toLowerCase() === 'pm';
    hour = (hour % 12) + (pm ? 12 : 0);
  }
  return {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour,
    minute: Number(mi),
    second: Number(s ?? 0),
    millisecond: fractionToMs(frac),
    offsetMinutes: 0,
  };
}

/** Range-checks every part (no Feb 30, no hour 24, no leap second) and converts to ISO UTC. */
function toIso(p: Parts): string | undefined {
  if (p.year < 1900 || p.year > 9999) return undefined;
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.hour > 23 || p.minute > 59 || p.second > 59)
    return undefined;
  const local = new Date(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.millisecond));
  if (local.getUTCDate() !== p.day || local.getUTCMonth() !== p.month - 1) return undefined;
  const utc = new Date(local.getTime() - p.offsetMinutes * 60_000);
  return Number.isNaN(utc.getTime()) ? undefined : utc.toISOString();
}

/** Latest unix-seconds value accepted (9999-12-31T23:59:59Z); earlier than 1900 is refused as well. */
const MAX_UNIX_SECONDS = 253_402_300_799;

/** Unix seconds (a non-negative integer number, as JSON sends it) → ISO UTC; otherwise undefined. */
export function parseUnixSeconds(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_UNIX_SECONDS) {
    return undefined;
  }
  return new Date(value * 1000).toISOString();
}
