import { invalidArgument } from './errors';

/**
 * Reads a request body that must be one JSON object (raw text, so size and JSON errors are ours to report):
 * JSON content type, at most `maxBytes`, nested at most `maxDepth` deep (checked before `JSON.parse`, whose own
 * limit is the call stack). Throws an InvalidArgument ApiError with target `Content-Type` or `body`.
 */
export function parseJsonObjectBody(
  bodyText: string,
  contentType: string | null,
  limits: { maxBytes: number; maxDepth: number },
): Record<string, unknown> {
  if (contentType !== null && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim())) {
    throw invalidArgument('The request body must be JSON (Content-Type: application/json).', 'Content-Type');
  }
  if (Buffer.byteLength(bodyText, 'utf8') > limits.maxBytes) {
    throw invalidArgument(`The request body is larger than ${limits.maxBytes} bytes.`, 'body');
  }
  if (nestedDeeperThan(bodyText, limits.maxDepth)) {
    throw invalidArgument(`The request body is nested deeper than ${limits.maxDepth} levels.`, 'body');
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error: unknown) {
    if (error instanceof RangeError) throw invalidArgument('The request body is nested too deeply.', 'body');
    throw invalidArgument('The request body is not valid JSON.', 'body');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidArgument('The request body must be a JSON object.', 'body');
  }
  return body as Record<string, unknown>;
}

/** Whether `[` / `{` nest deeper than `max` outside strings (a linear scan; the text is at most 16 KiB). */
function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
