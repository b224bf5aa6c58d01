import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSchema } from '../../src/config';
import { brokenLinks, headingAnchors, markdownLinks } from '../support/markdown-links';

/** The README and docs/ stand on their own: every link resolves in the repository or is a public http(s) URL. */
const root = join(__dirname, '..', '..');
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => join(root, 'docs', f));
const files = [join(root, 'README.md'), ...docs];

describe('documentation links (pure)', () => {
  test.each(files.map((f) => [f.slice(root.length + 1), f]))('%s: every link resolves', (_name, file) => {
    expect(brokenLinks(file, root)).toEqual([]);
  });

  test('the README links every file in docs/', () => {
    const linked = new Set(markdownLinks(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.target));
    const missing = docs.map((f) => `docs/${f.slice(join(root, 'docs').length + 1)}`).filter((f) => !linked.has(f));
    expect(missing).toEqual([]);
  });

  test('docs/configuration.md lists every setting of src/config.ts', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    const missing = Object.keys(ConfigSchema.shape).filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  test('the README fits on two screens: at most 170 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(170);
  });

  test('the checker refuses what it should: outside the repository, missing files and anchors, other schemes', () => {
    const file = join(root, 'docs', 'example.md');
    const text = [
      '# A heading with `code`',
      '[ok](#a-heading-with-code) [ok](api.md#routes) [ok](https://temporal.io) ![ok](images/dashboard-pool.png)',
      '[out](../../shared/API.md) [missing](nothing.md) [anchor](api.md#no-such-route) [mail](mailto:a@b.c)',
      '[abs](/etc/passwd) `[code](../not-a-link.md)`',
      '```',
      '[fenced](../not-a-link-either.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(file, root, text).map((b) => [b.line, b.target, b.problem])).toEqual([
      [3, '../../shared/API.md', 'leaves the repository'],
      [3, 'nothing.md', 'no such file'],
      [3, 'api.md#no-such-route', 'no heading for #no-such-route in docs/api.md'],
      [3, 'mailto:a@b.c', 'not an http(s) URL: only public sites may be linked outside the repository'],
      [4, '/etc/passwd', 'an absolute path: link relative to the file instead'],
    ]);
  });

  test("heading anchors are GitHub's: punctuation dropped, spaces to hyphens, repeats numbered", () => {
    const anchors = headingAnchors(
      '# Operating with the `temporal` CLI\n## GET /v1/plans/{planId}\n## 7. Upgrading\n## A\n## A\n',
    );
    expect([...anchors]).toEqual(['operating-with-the-temporal-cli', 'get-v1plansplanid', '7-upgrading', 'a', 'a-1']);
  });
});
