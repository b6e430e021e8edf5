// The HTTP seam. RestKubeClient speaks to the API server through this interface only, so the same
// client code runs against the real server (bootstrap.ts: node:https + client-node's KubeConfig for
// auth) and against FakeKube's in-memory API server in unit tests.

/** HTTP methods the Kubernetes API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One request. `path` has no query string; `query` values that are undefined are left out. */
export interface HttpRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Aborting ends the request (and a streaming body) with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** A response whose body is consumed as a stream of byte chunks (a watch never ends on its own). */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Human-readable server address for logs, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** Releases pooled connections. */
  close?(): void;
}

/** Reads a whole body as UTF-8 text. */
export async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** `?a=1&b=x` from a query record (sorted keys, so URLs are stable in logs and fakes). */
export function queryString(query: HttpRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    const v = query[key];
    if (v !== undefined) params.set(key, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/**
 * Splits a byte stream into newline-delimited JSON lines. Chunks may end mid-line and mid UTF-8
 * sequence; a line is decoded only once complete (a 0x0A byte never occurs inside a multi-byte
 * UTF-8 sequence, so splitting on bytes is safe). Pending bytes are kept as a chunk list, so a
 * multi-megabyte object arriving in thousands of chunks is concatenated once, not once per chunk.
 */
export class NdjsonDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly maxLineBytes: number;

  /** @param maxLineBytes a longer line is a protocol error. @default 128 MiB */
  constructor(maxLineBytes = 128 * 1024 * 1024) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Feeds one chunk; returns the complete, non-blank lines it finished. */
  push(chunk: Uint8Array): string[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const part = buf.subarray(start, nl);
      const line = this.#pendingBytes > 0 ? Buffer.concat([...this.#pending, part]).toString('utf8') : part.toString('utf8');
      this.#pending = [];
      this.#pendingBytes = 0;
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
    }
    if (start < buf.length) {
      this.#pending.push(buf.subarray(start));
      this.#pendingBytes += buf.length - start;
      if (this.#pendingBytes > this.maxLineBytes) {
        throw new Error(`watch line longer than ${this.maxLineBytes} bytes`);
      }
    }
    return lines;
  }

  /** What is left when the stream ends (a last line without newline), if not blank. */
  end(): string | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const line = Buffer.concat(this.#pending).toString('utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    return line.trim() === '' ? undefined : line;
  }
}
