import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type {
  CtrPredictRequest,
  CtrPredictResponse,
  Health,
  ModelMetadataResponse,
  ModelStatusResponse,
  PredictRequest,
  PredictResponse,
} from './types.ts';

export type * from './types.ts';

export type ClientOptions = {
  /** `http://host:8501`. */
  readonly baseUrl: string;
  /** Deadline of one attempt (connect, send, whole reply); default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts after the first when the server answers 503 or refuses the connection; default 2. */
  readonly retries?: number;
  /** Wait before a retry when 503 has no Retry-After; default 100 ms, doubled each retry. */
  readonly retryDelayMs?: number;
  /** A Retry-After longer than this is not waited for (the 503 is returned as an error); default 5 s. */
  readonly maxRetryDelayMs?: number;
  /** Sockets kept open per host (keep-alive); default 16. */
  readonly maxSockets?: number;
};

/** Which version a TF Serving call addresses: the latest AVAILABLE (neither), a number, or a label. */
export type VersionSelector = { readonly version?: number; readonly label?: string };

/** A reply that is not 2xx: its status, ctr-serve's stable code (`ctr-error-code` header) and message. */
export class CtrServeError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: string;
  constructor(status: number, code: string | undefined, body: string) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}: ${errorMessage(body)}`);
    this.name = 'CtrServeError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * A typed client of ctr-serve's HTTP API (docs/api.md): the CTR API and TF Serving's REST API, over keep-alive
 * connections, each attempt bounded by `timeoutMs`, and 503 answers (queue full, model loading, shutting down)
 * retried after the server's Retry-After. Import it as `ctr-serve/client`. `close()` ends the kept sockets.
 */
export class CtrServeClient {
  readonly #base: URL;
  readonly #options: Required<Omit<ClientOptions, 'baseUrl'>>;
  readonly #agent: HttpAgent;

  constructor(options: ClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#options = {
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 2,
      retryDelayMs: options.retryDelayMs ?? 100,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 5_000,
      maxSockets: options.maxSockets ?? 16,
    };
    const Agent = this.#base.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.#agent = new Agent({ keepAlive: true, maxSockets: this.#options.maxSockets });
  }

  /** `POST /v1/ctr:predict` (the default model) or `/v1/ctr/{model}:predict`. */
  ctrPredict(body: CtrPredictRequest, model?: string): Promise<CtrPredictResponse> {
    const path = model === undefined ? '/v1/ctr:predict' : `/v1/ctr/${encodeURIComponent(model)}:predict`;
    return this.#json('POST', path, body) as Promise<CtrPredictResponse>;
  }

  /** TF Serving's `:predict` (row `instances` or columnar `inputs`). */
  predict(model: string, body: PredictRequest, at: VersionSelector = {}): Promise<PredictResponse> {
    return this.#json('POST', `${modelPath(model, at)}:predict`, body) as Promise<PredictResponse>;
  }

  /** TF Serving's model status (`GET /v1/models/{model}[/versions/{v}|/labels/{l}]`). */
  modelStatus(model: string, at: VersionSelector = {}): Promise<ModelStatusResponse> {
    return this.#json('GET', modelPath(model, at)) as Promise<ModelStatusResponse>;
  }

  /** TF Serving's signature metadata. */
  modelMetadata(model: string, at: VersionSelector = {}): Promise<ModelMetadataResponse> {
    return this.#json('GET', `${modelPath(model, at)}/metadata`) as Promise<ModelMetadataResponse>;
  }

  /** `GET /readyz`: resolves when every model has an AVAILABLE version, else CtrServeError 503. */
  ready(): Promise<Health> {
    return this.#json('GET', '/readyz') as Promise<Health>;
  }

  close(): void {
    this.#agent.destroy();
  }

  async #json(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      let reply: { status: number; headers: IncomingMessage['headers']; text: string };
      try {
        reply = await this.#send(method, path, payload);
      } catch (err) {
        const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (!refused || attempt >= this.#options.retries) throw err;
        await sleep(this.#options.retryDelayMs * 2 ** attempt);
        continue;
      }
      if (reply.status >= 200 && reply.status < 300) return parseJson(reply.text);
      const code = reply.headers['ctr-error-code'] as string | undefined;
      const wait = retryWait(reply.headers['retry-after'], this.#options.retryDelayMs * 2 ** attempt);
      if (reply.status !== 503 || attempt >= this.#options.retries || wait > this.#options.maxRetryDelayMs) {
        throw new CtrServeError(reply.status, code, reply.text);
      }
      await sleep(wait);
    }
  }

  #send(method: string, path: string, payload: string | undefined) {
    const url = new URL(path, this.#base);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>(
      (resolve, reject) => {
        const req = request(url, {
          method,
          agent: this.#agent,
          headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        });
        const timer = setTimeout(
          () =>
            req.destroy(
              new Error(`${method} ${path}: no complete reply within ${this.#options.timeoutMs} ms`),
            ),
          this.#options.timeoutMs,
        );
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            });
          });
        });
        req.end(payload);
      },
    );
  }
}

function modelPath(model: string, at: VersionSelector): string {
  const base = `/v1/models/${encodeURIComponent(model)}`;
  if (at.label !== undefined) return `${base}/labels/${encodeURIComponent(at.label)}`;
  return at.version === undefined ? base : `${base}/versions/${at.version}`;
}

/** Retry-After in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `fallback` when absent or unreadable. */
function retryWait(header: string | string[] | undefined, fallback: number): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return fallback;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? fallback : Math.max(0, date - Date.now());
}

/** TF Serving writes NaN and ±Infinity as bare tokens, which JSON.parse refuses; they are read as numbers here. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.replace(/(?<=[[,:]\s*)(-?Infinity|NaN)(?=\s*[\],}])/g, '"__ctr_$1"'), (_k, v) =>
      typeof v === 'string' && v.startsWith('__ctr_') ? Number(v.slice(6)) : v,
    );
  }
}

function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string; error?: string };
    return parsed.message ?? parsed.error ?? body;
  } catch {
    return body.slice(0, 200);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
