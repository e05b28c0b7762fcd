import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, InjectOptions, RouteOptions } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { loadOpenApiDocument } from '../../src/http/openapi.ts';

/**
 * Test support for the HTTP integration tests: apps over real model directories, and `call`, which injects a
 * request and validates the response body against openapi.yaml (path, method and status must be described);
 * `checkResponse` does the same for a response read over a real socket (supertest against `app.server`).
 */
export type ModelSpec = {
  readonly name: string;
  readonly basePath: string;
  readonly policy?: Record<string, unknown>;
};

export async function appFor(
  models: readonly ModelSpec[],
  flags: Record<string, string> = {},
  deps: AppDeps = {},
  batchingParameters?: string,
): Promise<FastifyInstance> {
  const text = JSON.stringify({
    model_config_list: models.map((m) => ({
      name: m.name,
      base_path: m.basePath,
      ...(m.policy ? { model_version_policy: m.policy } : {}),
    })),
  });
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1', ...flags },
    modelConfigFile: { path: 'test-models.json', text },
    ...(batchingParameters
      ? { batchingParametersFile: { path: 'batching.txt', text: batchingParameters } }
      : {}),
  });
  return buildApp(config, { logger: false, ...deps });
}

export type ServedRoute = { readonly method: string; readonly url: string };

/**
 * Collects the routes an app serves (method, Fastify URL) as `buildApp` adds them: pass `onRoute` in its deps.
 * HEAD routes and Swagger UI's hidden ones are left out.
 */
export function routeCollector(): { routes: ServedRoute[]; onRoute: (route: RouteOptions) => void } {
  const routes: ServedRoute[] = [];
  const onRoute = (route: RouteOptions) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && !hidden) routes.push({ method, url: route.url });
    }
  };
  return { routes, onRoute };
}

/** A base directory whose version directories are symlinks to model directories: `{1: dirA, 2: dirB}`. */
export async function modelRepo(
  versions: Record<number, string>,
): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'ctr-http-'));
  for (const [v, dir] of Object.entries(versions)) await symlink(dir, join(path, v));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function writeModelDir(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
}

const spec = loadOpenApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(spec as object, 'openapi');
const specPaths = Object.keys(spec.paths).map((p) => ({
  path: p,
  re: new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/:]+')}$`),
}));

export type Response = { status: number; body: any; text: string; headers: Record<string, unknown> };

/** Injects a request; asserts the spec describes the response and that a JSON body matches its schema. */
export async function call(app: FastifyInstance, opts: InjectOptions): Promise<Response> {
  const res = await app.inject(opts);
  const url = String(opts.url ?? opts.path);
  return checkResponse(String(opts.method ?? 'GET'), url, res.statusCode, res.headers, res.body);
}

/**
 * Asserts that openapi.yaml describes a response (path, method, status, content type) and that a JSON body matches
 * its schema; returns it with the body parsed. `call` checks every injected response with it; tests over a real
 * socket (supertest against `app.server`) pass theirs.
 */
export function checkResponse(
  methodName: string,
  fullUrl: string,
  status: number,
  headers: Record<string, unknown>,
  text: string,
): Response {
  const url = fullUrl.split('?')[0]!;
  const method = methodName.toLowerCase();
  const isJson = String(headers['content-type'] ?? '').startsWith('application/json');
  const body = isJson ? parseLoose(text) : text;
  const matched = specPaths.find((p) => p.re.test(url));
  if (matched) {
    const op = spec.paths[matched.path]![method] as { responses: Record<string, any> } | undefined;
    assert.ok(op, `openapi.yaml has no ${method.toUpperCase()} ${matched.path}`);
    let response = op.responses[String(status)];
    assert.ok(
      response,
      `openapi.yaml does not describe ${status} for ${method.toUpperCase()} ${matched.path}`,
    );
    if (response.$ref) response = resolve(response.$ref);
    const media = response.content?.[isJson ? 'application/json' : 'text/plain'];
    assert.ok(media, `openapi.yaml: ${matched.path} ${status} has no ${headers['content-type']} body`);
    if (isJson && media.schema && !/\bNaN\b|Infinity/.test(text)) {
      const validate = media.schema.$ref
        ? ajv.getSchema(`openapi${media.schema.$ref}`)!
        : ajv.compile(media.schema);
      assert.ok(
        validate(body),
        `${method.toUpperCase()} ${url} ${status}: body does not match openapi.yaml: ` +
          `${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`,
      );
    }
  }
  return { status, body, text, headers };
}

function resolve(ref: string): any {
  return ref
    .slice(2)
    .split('/')
    .reduce((node: any, key) => node[key], spec);
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** POST with a JSON body sent as curl sends it by default (form content type), as TF Serving accepts. */
export function post(
  url: string,
  body: unknown,
  contentType = 'application/x-www-form-urlencoded',
): InjectOptions {
  return {
    method: 'POST',
    url,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': contentType },
  };
}
