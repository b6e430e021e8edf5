// Typed API errors. Every non-2xx answer from the API server becomes a KubeApiError (or one of its
// subclasses), carrying the HTTP status, the Status `reason` and the server's message, so callers
// decide with `instanceof` or `err.reason` instead of parsing strings.

import type { Status } from './types.ts';

/** Stable error codes of libs/kube (STYLE rule 11). */
export const KubeErrorCodes = Object.freeze({
  /** Any API answer that is not one of the more specific codes below. */
  api: 'KUBE_API_ERROR',
  notFound: 'KUBE_NOT_FOUND',
  alreadyExists: 'KUBE_ALREADY_EXISTS',
  /** 409 on an update: the object changed since it was read (resourceVersion precondition). */
  conflict: 'KUBE_CONFLICT',
  /** 409 on a server-side apply: another field manager owns a field this apply sets. */
  applyConflict: 'KUBE_APPLY_CONFLICT',
  forbidden: 'KUBE_FORBIDDEN',
  unauthorized: 'KUBE_UNAUTHORIZED',
  /** 410: the resourceVersion asked for was compacted away; the caller must relist. */
  gone: 'KUBE_GONE',
  invalid: 'KUBE_INVALID',
  /** The request did not get an answer in time (connect, request or watch inactivity timeout). */
  timeout: 'KUBE_TIMEOUT',
  /** Transport failure: connection refused/reset, TLS error, DNS. */
  transport: 'KUBE_TRANSPORT',
  /** No usable client configuration (no --kubeconfig, not in a cluster, no KUBECONFIG). */
  config: 'KUBE_CONFIG',
} as const);
export type KubeErrorCode = (typeof KubeErrorCodes)[keyof typeof KubeErrorCodes];

/** A request the API server answered with a non-2xx status. */
export class KubeApiError extends Error {
  readonly code: KubeErrorCode = KubeErrorCodes.api;
  /** HTTP status code. */
  readonly status: number;
  /** `Status.reason` when the body was a Status, else the HTTP status text. */
  readonly reason: string;
  /** The decoded Status body, when the server sent one. */
  readonly statusObject: Status | undefined;
  /** `METHOD path` of the failed request. */
  readonly request: string;

  constructor(status: number, reason: string, message: string, statusObject: Status | undefined, request: string) {
    super(`${request}: ${status} ${reason}: ${message}`);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
    this.statusObject = statusObject;
    this.request = request;
  }
}

export class NotFoundError extends KubeApiError {
  override readonly code = KubeErrorCodes.notFound;
}
export class AlreadyExistsError extends KubeApiError {
  override readonly code = KubeErrorCodes.alreadyExists;
}
/** 409 from a write with a stale resourceVersion (optimistic concurrency lost). */
export class ConflictError extends KubeApiError {
  override readonly code: KubeErrorCode = KubeErrorCodes.conflict;
}
export class ForbiddenError extends KubeApiError {
  override readonly code = KubeErrorCodes.forbidden;
}
export class UnauthorizedError extends KubeApiError {
  override readonly code = KubeErrorCodes.unauthorized;
}
export class GoneError extends KubeApiError {
  override readonly code = KubeErrorCodes.gone;
}
export class InvalidError extends KubeApiError {
  override readonly code = KubeErrorCodes.invalid;
}

/** One field another manager owns, from a server-side apply conflict. */
export interface ApplyConflict {
  /** The field manager that owns the field (e.g. `kubectl-client-side-apply`). */
  readonly manager: string;
  /** Field path as the server names it, e.g. `.data.key` or `.spec.ports`. */
  readonly field: string;
  readonly message: string;
}

/**
 * 409 from a server-side apply: fields this apply sets are owned by other managers. Re-apply with
 * `force: true` to take them over, or drop the fields from the applied object.
 */
export class ApplyConflictError extends ConflictError {
  override readonly code = KubeErrorCodes.applyConflict;
  readonly conflicts: readonly ApplyConflict[];
  /** Distinct managers from `conflicts`, sorted. */
  readonly managers: readonly string[];

  constructor(status: number, reason: string, message: string, statusObject: Status | undefined, request: string, conflicts: ApplyConflict[]) {
    super(status, reason, message, statusObject, request);
    this.conflicts = conflicts;
    this.managers = [...new Set(conflicts.map((c) => c.manager))].sort();
  }
}

/** The request got no (complete) answer in time. */
export class KubeTimeoutError extends Error {
  readonly code = KubeErrorCodes.timeout;
  constructor(message: string) {
    super(message);
    this.name = 'KubeTimeoutError';
  }
}

/** The request failed below HTTP (refused, reset, TLS). `cause` holds the Node error. */
export class KubeTransportError extends Error {
  readonly code = KubeErrorCodes.transport;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeTransportError';
  }
}

/** No usable client configuration; the message says what was tried. */
export class KubeConfigError extends Error {
  readonly code = KubeErrorCodes.config;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

const conflictManager = /conflict with "([^"]*)"/;

/** Builds the typed error for an HTTP answer; `body` is the raw response text (may be empty or not JSON). */
export function apiErrorFrom(status: number, body: string, request: string, isApply = false): KubeApiError {
  let st: Status | undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as Status).kind === 'Status') st = parsed as Status;
  } catch {
    // not JSON: keep the text as the message
  }
  const reason = st?.reason || httpReason(status);
  const message = st?.message || body.trim().slice(0, 500) || '(empty body)';
  const args = [status, reason, message, st, request] as const;
  switch (status) {
    case 401:
      return new UnauthorizedError(...args);
    case 403:
      return new ForbiddenError(...args);
    case 404:
      return new NotFoundError(...args);
    case 409: {
      if (reason === 'AlreadyExists') return new AlreadyExistsError(...args);
      const causes = st?.details?.causes ?? [];
      const conflicts = causes
        .filter((c) => c.type === 'FieldManagerConflict' || conflictManager.test(c.message ?? ''))
        .map((c) => ({ manager: conflictManager.exec(c.message ?? '')?.[1] ?? '', field: c.field ?? '', message: c.message ?? '' }));
      if (isApply || conflicts.length > 0) return new ApplyConflictError(...args, conflicts);
      return new ConflictError(...args);
    }
    case 410:
      return new GoneError(...args);
    case 422:
      return new InvalidError(...args);
    default:
      return new KubeApiError(...args);
  }
}

function httpReason(status: number): string {
  const known: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    406: 'NotAcceptable',
    409: 'Conflict',
    410: 'Gone',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return known[status] ?? `HTTP${status}`;
}

/** True for a 404 from the API. */
export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}
/** True for a 409 (resourceVersion conflict, apply conflict or already-exists). */
export function isConflict(err: unknown): err is ConflictError | AlreadyExistsError {
  return err instanceof KubeApiError && err.status === 409;
}
export function isForbidden(err: unknown): err is ForbiddenError {
  return err instanceof ForbiddenError;
}
/**
 * True when the API server refused to create an object because its namespace is being deleted
 * (a Status cause `NamespaceTerminating`, client-go's `v1.NamespaceTerminatingCause`).
 */
export function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusObject?.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}
/** True for "resourceVersion too old": HTTP 410, or a Status with code 410 / reason Expired|Gone. */
export function isGone(err: unknown): boolean {
  return err instanceof GoneError || (err instanceof KubeApiError && (err.reason === 'Expired' || err.reason === 'Gone'));
}
