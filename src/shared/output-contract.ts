import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';

/**
 * Output contracts: the JSON Schema (draft 2020-12) a task's output must meet (`output.schema`, docs/plans.md). The API
 * checks the schema at submission; the validate step checks the output against it. Never imported by workflow code
 * (ajv compiles validators to code at run time). Schemas are self-contained: a `$ref` that is not inside the schema is
 * an error, never fetched.
 */

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
const compiled = new Map<string, ValidateFunction>();
/** Compiled validators kept, most recently used last (one per distinct schema). */
const MAX_COMPILED = 500;

/** What is wrong with a schema, as `{path, message}` under `at` (empty when it is a usable schema). */
export function schemaProblems(schema: unknown, at: string): { path: string; message: string }[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return [{ path: at, message: 'a JSON Schema (draft 2020-12) object' }];
  if (!ajv.validateSchema(schema)) return (ajv.errors ?? []).map((e) => ({ path: pathOf(at, e), message: text(e) }));
  try {
    validatorOf(schema);
    return [];
  } catch (err) {
    return [{ path: at, message: (err as Error).message }];
  }
}

/** Why `value` does not meet `schema`, one reason per problem, each naming where (empty when it does). */
export function contractViolations(schema: object, value: unknown): string[] {
  const validate = validatorOf(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) =>
    e.instancePath ? `${e.instancePath}: ${text(e)}` : `the answer ${clipped(value)} ${text(e)}`,
  );
}

/**
 * A model's answer read as JSON: the whole text, or the one fenced ```json block in it (small models wrap their
 * answers). Undefined when it is not JSON.
 */
export function parseJsonAnswer(text: string): { value: unknown } | undefined {
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/.exec(text);
  for (const candidate of [text.trim(), fenced?.[1]?.trim()]) {
    if (!candidate) continue;
    try {
      return { value: JSON.parse(candidate) as unknown };
    } catch {
      // not this one
    }
  }
  return undefined;
}

function validatorOf(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let fn = compiled.get(key);
  if (fn) compiled.delete(key);
  else fn = ajv.compile(schema);
  compiled.set(key, fn);
  if (compiled.size > MAX_COMPILED) {
    const oldest = compiled.keys().next().value as string;
    compiled.delete(oldest);
    ajv.removeSchema(JSON.parse(oldest) as object);
  }
  return fn;
}

const pathOf = (at: string, e: ErrorObject): string =>
  `${at}${e.instancePath.replace(/\/([^/]+)/g, (_, p: string) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))}`;

const text = (e: ErrorObject): string => {
  const extra =
    e.keyword === 'additionalProperties'
      ? ` ("${String((e.params as { additionalProperty?: unknown }).additionalProperty)}")`
      : e.keyword === 'enum'
        ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
        : '';
  return `${e.message ?? e.keyword}${extra}`;
};

const clipped = (value: unknown): string => {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 80)}…` : json;
};
