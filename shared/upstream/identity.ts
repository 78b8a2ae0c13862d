/**
 * Identity field rules (SPEC §2). A kind lists its fields with these builders; `defineKind` validates a
 * registration body with them (every problem listed, `target` = the field name).
 */
import type { IdentityField } from './types';

const FACE_ID = /^[a-z0-9_-]{1,64}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function missing(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return `${name} is required.`;
  return undefined;
}

/** A Face id (person group, large person group, large face list): lowercase letters, digits, `-`, `_`, 1 to 64. */
export function faceIdField(name: string): IdentityField {
  return {
    name,
    problem: (value) =>
      missing(name, value) ??
      (typeof value !== 'string' || !FACE_ID.test(value)
        ? `${name} must be 1 to 64 lowercase letters, digits, '-' or '_'.`
        : undefined),
  };
}

/** A GUID (`projectId`, `iterationId`, `modelId`). */
export function guidField(name: string): IdentityField {
  return {
    name,
    problem: (value) =>
      missing(name, value) ??
      (typeof value !== 'string' || !GUID.test(value)
        ? `${name} must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).`
        : undefined),
  };
}

/**
 * Any other identity field: a non-empty string of at most `max` characters that stays one path segment (no `/`,
 * `?`, `#`, `%`, `\`, control characters, lone surrogates, `.` or `..`).
 */
export function segmentField(name: string, max = 200): IdentityField {
  return {
    name,
    problem: (value) => {
      const absent = missing(name, value);
      if (absent !== undefined) return absent;
      if (typeof value !== 'string') return `${name} must be a string.`;
      if (value.length > max) return `${name} must be at most ${max} characters.`;
      if (/[/?#%\\]/.test(value)) return `${name} must not contain '/', '?', '#', '%' or '\\'.`;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(value)) return `${name} must not contain control characters.`;
      if (/\p{Cs}/u.test(value)) return `${name} must be valid Unicode text.`;
      // '.' and '..' would be resolved as path segments by every URL parser.
      if (value === '.' || value === '..') return `${name} must not be '.' or '..'.`;
      return undefined;
    },
  };
}
