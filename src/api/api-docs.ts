/** Renders docs/api.md from the OpenAPI document (`npm run docs:api`; test/openapi.test.ts fails when it is stale). */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const refName = (ref: string) => ref.replace('#/components/schemas/', '');
/** GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A schema in a few words: a component name (linked), or its type. */
function typeOf(schema: Json | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return 'any';
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return `[${name}](#${name.startsWith('Error') ? 'errors' : anchor(name)})`;
  }
  if (schema.enum) return schema.enum.map((v: unknown) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.anyOf || schema.oneOf) return (schema.anyOf ?? schema.oneOf).map(typeOf).join(' or ');
  if (schema.type === 'array') return `${typeOf(schema.items)}[]`;
  if (schema.type === 'object' && !schema.properties && schema.additionalProperties)
    return `map of ${typeOf(schema.additionalProperties)}`;
  return Array.isArray(schema.type) ? schema.type.join(' or ') : (schema.type ?? 'any');
}

function constraints(schema: Json): string {
  const parts: string[] = [];
  if (schema.default !== undefined) parts.push(`default \`${JSON.stringify(schema.default)}\``);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.minLength !== undefined) parts.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`length ≤ ${schema.maxLength}`);
  if (schema.minItems !== undefined) parts.push(`≥ ${schema.minItems} items`);
  if (schema.maxItems !== undefined) parts.push(`≤ ${schema.maxItems} items`);
  if (schema.pattern) parts.push(`pattern \`${schema.pattern}\``);
  if (schema.format) parts.push(`format ${schema.format}`);
  if (schema.description) parts.push(schema.description);
  return parts.join(', ');
}

function properties(schema: Json): string[] {
  const props = Object.entries((schema.properties ?? {}) as Record<string, Json>);
  if (props.length === 0) return [`${typeOf(schema)}`, ''];
  const required = new Set<string>(schema.required ?? []);
  return [
    '| Field | Type | Required | Notes |',
    '| --- | --- | --- | --- |',
    ...props.map(
      ([name, p]) =>
        `| \`${name}\` | ${cell(typeOf(p))} | ${required.has(name) ? 'yes' : ''} | ${cell(constraints(p))} |`,
    ),
    '',
  ];
}

function operation(path: string, method: string, op: Json): string[] {
  const lines = [
    `### ${method.toUpperCase()} ${path}`,
    '',
    `${op.summary}.${op.description ? ` ${op.description}` : ''}`,
    '',
  ];
  lines.push(`Scope: \`${op['x-scope']}\`. Operation id: \`${op.operationId}\`.`, '');
  const params = (op.parameters ?? []) as Json[];
  if (params.length) {
    lines.push('| Parameter | In | Type | Required | Notes |', '| --- | --- | --- | --- | --- |');
    for (const p of params)
      lines.push(
        `| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : ''} | ${cell(constraints(p.schema))} |`,
      );
    lines.push('');
  }
  if (op.requestBody) {
    const body = op.requestBody.content['application/json'].schema;
    lines.push(`Body (JSON${op.requestBody.required ? '' : ', optional'}): ${typeOf(body)}`, '');
  }
  lines.push('| Status | Answer | Body |', '| --- | --- | --- |');
  for (const [status, r] of Object.entries(op.responses as Record<string, Json>)) {
    const [type, media] = Object.entries((r.content ?? {}) as Record<string, Json>)[0] ?? [];
    const headers = Object.keys(r.headers ?? {});
    const body = media ? `${typeOf(media.schema)}${type === 'application/json' ? '' : ` (${type})`}` : 'none';
    lines.push(
      `| ${status} | ${cell(r.description)}${headers.length ? ` (header ${headers.join(', ')})` : ''} | ${cell(body)} |`,
    );
  }
  lines.push('');
  return lines;
}

export function renderApiDocs(doc: Json): string {
  const ops = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const lines = [
    '# HTTP API reference',
    '',
    '<!-- Generated from the OpenAPI document by `npm run docs:api` (src/api/api-docs.ts); do not edit by hand. -->',
    '',
    'The API serves its OpenAPI 3.1 document at `GET /v1/openapi.json`. It is generated from the route table',
    '(`src/api/routes.ts`) and the zod schemas the routes validate with, so what is below is what the API checks and',
    'answers; `test/api-contract.test.ts` fuzzes the API against the document (schemathesis) in `npm test`.',
    '',
    '```bash',
    'curl -s localhost:8003/v1/openapi.json | jq .paths   # the document',
    'npm run docs:api                                      # regenerate this file after changing a route',
    'node scripts/schemathesis.cjs                         # install the fuzzer (pinned, into .temporal/; npm test does it)',
    'npx jest test/api-contract.test.ts test/openapi.test.ts  # fuzz the API against the document; check the document',
    '```',
    '',
    'Errors always come as `{"error": {"code", "message", "issues"?}}`: `VALIDATION_ERROR` 400 (`issues` lists every',
    'problem by path), `UNAUTHORIZED` 401, `FORBIDDEN` 403, `NOT_FOUND` 404 (also a path parameter that cannot name',
    'anything, such as a malformed plan id), `METHOD_NOT_ALLOWED` 405 (a known path with a method it does not have; the',
    '`Allow` header lists those it has, and `OPTIONS` answers 204 with it), `CONFLICT` 409, `PAYLOAD_TOO_LARGE` 413,',
    '`UNSUPPORTED_MEDIA_TYPE` 415 (a body that is not `application/json`), `RATE_LIMITED` 429, `TEMPORAL_UNAVAILABLE`',
    'and `NOT_READY` 503. Each route lists the ones it can answer. Scopes (`x-scope`) say which API key may call a route:',
    '`public`, `read`, `submit`, `operate`, `admin`.',
    '',
    '## Routes',
    '',
    '| Method | Path | Scope | What it does |',
    '| --- | --- | --- | --- |',
    ...ops.map(
      ({ path, method, op }) =>
        `| ${method.toUpperCase()} | [\`${path}\`](#${anchor(`${method} ${path}`)}) | ${op['x-scope']} | ${cell(op.summary)} |`,
    ),
    '',
    ...ops.flatMap(({ path, method, op }) => operation(path, method, op)),
    '## Schemas',
    '',
  ];
  for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Json>)) {
    if (name.startsWith('Error')) continue;
    lines.push(
      `### ${name}`,
      '',
      ...(schema.description ? [String(schema.description), ''] : []),
      ...properties(schema),
    );
  }
  lines.push(
    '### Errors',
    '',
    'Every `Error...` schema is the envelope above with `code` limited to the codes in its name.',
    '',
  );
  return lines.join('\n');
}
