import type { HttpResponseInit } from '@azure/functions';
import { InvalidContinuationTokenError, StatusCacheError } from '../errors';
import type { Logger } from '../logger';
import { JobNotFoundError, ResourceBusyError } from '../poller/poller';

export type ApiErrorCode = 'InvalidArgument' | 'NotFound' | 'Conflict' | 'TooManyRequests' | 'InternalError';

export interface ErrorDetail {
  code: ApiErrorCode;
  message: string;
  target?: string;
}

/** An error with an HTTP meaning. The only place errors become HTTP is `toErrorResponse` below. */
export class ApiError extends StatusCacheError {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly target?: string,
    readonly details?: readonly ErrorDetail[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

export function invalidArgument(message: string, target: string, details?: readonly ErrorDetail[]): ApiError {
  return new ApiError(400, 'InvalidArgument', message, target, details);
}

export function notFound(message: string, target?: string): ApiError {
  return new ApiError(404, 'NotFound', message, target);
}

/** The route exists, not with this method: 405 with the methods it answers in `Allow` (RFC 9110 §15.5.6). */
export function methodNotAllowed(method: string, allowed: readonly string[]): ApiError {
  const allow = allowed.join(', ');
  return new ApiError(
    405,
    'InvalidArgument',
    `${method} is not allowed here; use ${allow}.`,
    'method',
    undefined,
    {
      allow,
    },
  );
}

/** A body over the host's cap (the API's own, smaller caps answer 400). */
export function payloadTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'InvalidArgument', `The request body is larger than ${maxBytes} bytes.`, 'body');
}

/** Maps any error to the Azure error shape. Unknown errors are logged and answered without their details. */
export function toErrorResponse(error: unknown, logger: Logger): HttpResponseInit {
  const apiError = asApiError(error);
  if (apiError.status >= 500) {
    logger.error('request failed', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  return {
    status: apiError.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...apiError.headers },
    jsonBody: {
      error: {
        code: apiError.code,
        message: apiError.message,
        ...(apiError.target !== undefined ? { target: apiError.target } : {}),
        ...(apiError.details?.length ? { details: apiError.details } : {}),
      },
    },
  };
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof JobNotFoundError) return notFound(error.message, 'id');
  if (error instanceof InvalidContinuationTokenError) {
    return invalidArgument('The continuation token is not valid.', 'skipToken');
  }
  if (error instanceof ResourceBusyError) {
    return new ApiError(429, 'TooManyRequests', error.message, 'id', undefined, {
      'retry-after': String(error.retryAfterSeconds),
    });
  }
  return new ApiError(500, 'InternalError', 'The service could not complete the request.');
}
