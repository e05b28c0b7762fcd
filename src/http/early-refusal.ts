import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type {
  FastifyBaseLogger,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import FindMyWay from 'find-my-way';
import type { CtrError } from '../errors/registry.ts';
import { errorReplyParts, type ShedLog } from './error-reply.ts';
import { openApiPath } from './openapi.ts';

/** A route's overload check: the refusal a request with these URL params gets now, or undefined to serve it. */
export type RefusalCheck = (params: Readonly<Record<string, string | undefined>>) => CtrError | undefined;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's overload check (refusedWhenOverloaded). */
    refuseEarly?: RefusalCheck;
  }
}

/**
 * Route options of a prediction route whose requests are refused (503 CTR_ERR_QUEUE_FULL) while their model is
 * overloaded, before the body is read: `config.refuseEarly` for the server's early refusal (EarlyRefusal), and the
 * same check as an `onRequest` hook for the requests that reach Fastify anyway (`inject()`, a shutting-down
 * server, a URL the early router does not take).
 */
export function refusedWhenOverloaded(check: RefusalCheck) {
  return {
    config: { refuseEarly: check },
    onRequest: (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) =>
      done(check(request.params as Readonly<Record<string, string | undefined>>)),
  };
}

/** refusedWhenOverloaded for the routes whose `name` param is the model (TF Serving's verbs, KServe V2's infer). */
export function modelRefusedWhenOverloaded(service: {
  admissionRefusal(model: string): CtrError | undefined;
}) {
  return refusedWhenOverloaded((params) => service.admissionRefusal(params.name ?? ''));
}

/** Fastify's default request ids (`req-1`, `req-2`, ... in base 36), from one counter that both paths share. */
export function requestIdGenerator(): () => string {
  let next = 0;
  return () => {
    next = (next + 1) & 0x7fffffff;
    return `req-${next.toString(36)}`;
  };
}

export type EarlyRefusalDeps = {
  readonly log: FastifyBaseLogger;
  readonly shed: ShedLog;
  /** Fastify's genReqId, for the `x-request-id` of a request that sent none. */
  readonly nextRequestId: () => string;
  /** The HTTP metrics (HttpObserver.observeHttp). */
  readonly observe: (route: string, method: string, statusCode: number, seconds: number) => void;
  /** False once the server stops taking requests: Fastify then answers CTR_ERR_SHUTTING_DOWN. */
  readonly taking: () => boolean;
};

type Store = { readonly check: RefusalCheck; readonly route: string };

/**
 * Overload refusals in front of Fastify (issue 9; bench/README.md, "Overload"). Under overload a worker's event
 * loop turn reads a request from every ready connection and refuses most of them, so a refusal waits for the
 * others' cost: through Fastify each one made a request and a reply, ran the routing, the hooks, the error
 * handler, serialisation and the metrics hooks. Here a request whose route declares `refuseEarly` is matched by
 * find-my-way (Fastify's router, the same route URLs and default options, so the params are the ones Fastify
 * would give), and when its check refuses, the reply is written straight on the Node response: the status,
 * headers and body of error-reply.ts's (`errorReplyParts`, the same `x-request-id`), counted in the same HTTP
 * metrics and shed log. The body is never read (Node discards it and keeps the connection). Anything else (no
 * route, a check that admits, a bad URL, a server that stops taking) goes to Fastify unchanged.
 */
export class EarlyRefusal {
  readonly #router = FindMyWay();
  readonly #deps: EarlyRefusalDeps;

  constructor(deps: EarlyRefusalDeps) {
    this.#deps = deps;
  }

  /** For Fastify's onRoute hook: a route with `config.refuseEarly` is refused early. */
  add(route: RouteOptions): void {
    const check = route.config?.refuseEarly;
    if (!check) return;
    const store: Store = { check, route: openApiPath(route.url) };
    const methods = [route.method].flat().map((m) => m.toUpperCase() as FindMyWay.HTTPMethod);
    this.#router.on(methods, route.url, () => undefined, store);
  }

  /**
   * Runs the refusal before `server`'s request listeners (Fastify's handler). Wrapping the listener keeps the
   * server Fastify made with its timeouts, keep-alive and bindings (a serverFactory would have to repeat them).
   */
  install(server: Server): void {
    const listeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.#refused(req, res)) return;
      for (const listener of listeners) listener.call(server, req, res);
    });
  }

  #refused(req: IncomingMessage, res: ServerResponse): boolean {
    const startMs = performance.now();
    if (!this.#deps.taking() || req.method === undefined || req.url === undefined) return false;
    let found: FindMyWay.FindResult<FindMyWay.HTTPVersion.V1> | null;
    try {
      found = this.#router.find(req.method as FindMyWay.HTTPMethod, req.url);
    } catch {
      return false;
    }
    if (!found) return false;
    const { check, route } = found.store as Store;
    const err = check(found.params);
    if (!err) return false;
    this.#deps.shed.note(this.#deps.log, err);
    const { headers, body } = errorReplyParts(req.url, err);
    const text = JSON.stringify(body);
    const id = req.headers['x-request-id'];
    res.writeHead(err.statusCode, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': (typeof id === 'string' && id) || this.#deps.nextRequestId(),
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    this.#deps.observe(route, req.method, err.statusCode, (performance.now() - startMs) / 1000);
    return true;
  }
}
