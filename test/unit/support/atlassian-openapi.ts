/**
 * Validates bodies against Atlassian's published OpenAPI specs (the contract in `shared/atlassian/`).
 *
 * The specs are OpenAPI 3.0, not plain JSON Schema, so two keywords are rewritten before Ajv sees them:
 * `nullable: true` becomes a `null` type, and `oneOf` + `discriminator.mapping` becomes "the branch the
 * discriminator names" (plain `oneOf` would reject `{key: 'fieldConstraintsViolated', context}` because the
 * looser `bodyParseFailure` branch matches it too). `$ref`s resolve inside each spec document.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export type SpecName = 'user-management' | 'organization' | 'api-access' | 'admin-control';

const SPEC_FILES: Record<SpecName, string> = {
  'user-management': 'user-management.openapi.json',
  organization: 'organization.openapi.json',
  'api-access': 'api-access.openapi.json',
  'admin-control': 'admin-control.openapi.json',
};

/**
 * Where each spec's paths are mounted on api.atlassian.com (its `servers[0].url` path): API Access paths are
 * relative to `/admin/api-access/v1`, the others are absolute.
 */
export const SPEC_PREFIX: Record<SpecName, string> = {
  'user-management': '',
  organization: '/admin',
  'api-access': '/admin/api-access/v1',
  'admin-control': '',
};

/** Where the specs live: `ATLASSIAN_SPEC_DIR`, the repo's `docs/atlassian/`, or the shared folder beside the repo. */
function specDir(): string {
  const candidates = [
    process.env.ATLASSIAN_SPEC_DIR,
    resolve(__dirname, '../../../docs/atlassian'),
    resolve(__dirname, '../../../../shared/atlassian'),
  ].filter((c): c is string => c !== undefined);
  const found = candidates.find((dir) => existsSync(join(dir, SPEC_FILES.organization)));
  if (!found) throw new Error(`Atlassian OpenAPI specs not found in: ${candidates.join(', ')}`);
  return found;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Rewrites OpenAPI 3.0 schema keywords into JSON Schema (see the file comment). */
function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) out[key] = toJsonSchema(value);

  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  const discriminator = out.discriminator;
  if (isObject(discriminator)) {
    delete out.discriminator;
    const property = discriminator.propertyName;
    const mapping = discriminator.mapping;
    if (typeof property === 'string' && isObject(mapping) && Array.isArray(out.oneOf)) {
      delete out.oneOf;
      out.required = [...(Array.isArray(out.required) ? out.required : []), property];
      out.properties = {
        ...(isObject(out.properties) ? out.properties : {}),
        [property]: { enum: Object.keys(mapping) },
      };
      out.allOf = Object.entries(mapping).map(([value, ref]) => ({
        if: { properties: { [property]: { const: value } }, required: [property] },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword here
        then: { $ref: ref },
      }));
    }
  }
  return out;
}

let ajv: Ajv | undefined;
const documents = new Map<SpecName, JsonObject>();

function load(): Ajv {
  if (ajv) return ajv;
  // strict off: OpenAPI's annotation keywords (example, readOnly, ...) are not JSON Schema vocabulary.
  ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addFormat('int', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  const dir = specDir();
  for (const [name, file] of Object.entries(SPEC_FILES) as Array<[SpecName, string]>) {
    const doc = toJsonSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json);
    if (!isObject(doc)) throw new Error(`${file} is not a JSON object`);
    documents.set(name, doc);
    ajv.addSchema(doc as object, name);
  }
  return ajv;
}

/** JSON Pointer (as a URI fragment) to a location in a spec. */
function pointer(segments: string[]): string {
  return `#${segments.map((s) => `/${encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;
}

function at(doc: JsonObject, segments: string[]): Json | undefined {
  let node: Json | undefined = doc;
  for (const s of segments) node = isObject(node) ? node[s] : undefined;
  return node;
}

/** Follows a `$ref` of a response/request-body object (`#/components/responses/X`) to its location. */
function deref(doc: JsonObject, segments: string[]): string[] {
  const node = at(doc, segments);
  if (isObject(node) && typeof node.$ref === 'string' && node.$ref.startsWith('#/')) {
    return deref(
      doc,
      node.$ref
        .slice(2)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')),
    );
  }
  return segments;
}

const compiled = new Map<string, ValidateFunction>();

function documentOf(spec: SpecName): JsonObject {
  load();
  const doc = documents.get(spec);
  if (!doc) throw new Error(`spec ${spec} not loaded`);
  return doc;
}

function validatorAt(spec: SpecName, segments: string[]): ValidateFunction {
  const instance = load();
  const doc = documentOf(spec);
  if (at(doc, segments) === undefined) throw new Error(`${spec}: nothing at ${segments.join('/')}`);
  const ref = `${spec}${pointer(segments)}`;
  let validate = compiled.get(ref);
  if (!validate) {
    validate = instance.compile({ $ref: ref });
    compiled.set(ref, validate);
  }
  return validate;
}

/** Outcome of a validation: `[]` when valid, else Ajv's errors as readable lines. */
function run(validate: ValidateFunction, data: unknown): string[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

/** Validates a response body against `paths[path][method].responses[status]` (application/json). */
export function responseErrors(spec: SpecName, path: string, method: string, status: number, body: unknown): string[] {
  const doc = documentOf(spec);
  const response = deref(doc, ['paths', path, method.toLowerCase(), 'responses', String(status)]);
  return run(validatorAt(spec, [...response, 'content', 'application/json', 'schema']), body);
}

/** Validates a request body against `paths[path][method].requestBody` (application/json). */
export function requestErrors(spec: SpecName, path: string, method: string, body: unknown): string[] {
  const doc = documentOf(spec);
  const requestBody = deref(doc, ['paths', path, method.toLowerCase(), 'requestBody']);
  return run(validatorAt(spec, [...requestBody, 'content', 'application/json', 'schema']), body);
}

/** Validates against a named component schema, e.g. `Response.BadRequest.FieldConstraintsViolated`. */
export function componentErrors(spec: SpecName, schema: string, body: unknown): string[] {
  return run(validatorAt(spec, ['components', 'schemas', schema]), body);
}

/** Validates against one of the spec's shared responses, e.g. `BadRequest.Body` or `NotFound.Account`. */
export function sharedResponseErrors(spec: SpecName, response: string, body: unknown): string[] {
  return run(validatorAt(spec, ['components', 'responses', response, 'content', 'application/json', 'schema']), body);
}

/**
 * Validates a request's query string against `paths[path][method].parameters` (`in: query`, `$ref`s followed):
 * an unknown parameter, a missing required one, or a value its schema refuses is one line each. Integer and
 * boolean parameters are coerced from their text first, as a server would.
 */
export function queryErrors(spec: SpecName, path: string, method: string, query: URLSearchParams): string[] {
  const doc = documentOf(spec);
  const declared = at(doc, ['paths', path, method.toLowerCase(), 'parameters']);
  if (!Array.isArray(declared)) throw new Error(`${spec}: no parameters at ${path} ${method}`);
  const params = declared.map((p) => {
    const segments = isObject(p) && typeof p.$ref === 'string' ? deref(doc, p.$ref.slice(2).split('/')) : undefined;
    const node = segments ? at(doc, segments) : p;
    return { node: isObject(node) ? node : {}, segments };
  });
  const errors: string[] = [];
  const known = new Set<string>();
  params.forEach(({ node, segments }, i) => {
    if (node.in !== 'query' || typeof node.name !== 'string') return;
    known.add(node.name);
    const values = query.getAll(node.name);
    if (values.length === 0) {
      if (node.required === true) errors.push(`?${node.name} is required`);
      return;
    }
    const schemaPath = segments
      ? [...segments, 'schema']
      : ['paths', path, method.toLowerCase(), 'parameters', String(i), 'schema'];
    const schema = at(doc, schemaPath);
    const type = isObject(schema) ? schema.type : undefined;
    for (const text of values) {
      const value =
        type === 'integer' || type === 'number' ? Number(text) : type === 'boolean' ? text === 'true' : text;
      for (const line of run(validatorAt(spec, schemaPath), value)) errors.push(`?${node.name}=${text}: ${line}`);
    }
  });
  for (const name of new Set(query.keys())) if (!known.has(name)) errors.push(`?${name} is not a documented parameter`);
  return errors;
}
