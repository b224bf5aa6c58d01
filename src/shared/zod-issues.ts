/**
 * The one way a zod error becomes a line of text in this project: `path.to.field: message; other: message`, `(root)`
 * for the value itself. Takes zod's issues (no zod import: workflow code uses it too).
 */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export const issuePath = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/** The same path with array indexes in brackets (`tasks[2].dependsOn[0]`), as the API's validation errors give it. */
export const bracketPath = (path: readonly PropertyKey[]): string =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');

export function describeIssues(issues: readonly IssueLike[]): string {
  return issues.map((i) => `${issuePath(i.path) || '(root)'}: ${i.message}`).join('; ');
}
