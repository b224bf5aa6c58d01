import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

/** A link written in a Markdown file: where it is and what it points at. */
export interface MarkdownLink {
  line: number;
  target: string;
}

/** A link that does not resolve, and why. */
export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** The lines of the text with fenced code blocks blanked (so line numbers stay right). */
function withoutFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opener = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length) fence = undefined;
      return '';
    }
    if (opener) {
      fence = opener;
      return '';
    }
    return line;
  });
}

/** Inline links and images `[text](target)`, and reference definitions `[label]: target`, outside code. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutFences(markdown).forEach((line, i) => {
    const text = line.replace(/(`+)[^`]*?\1/g, ''); // inline code is not a link
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ line: i + 1, target: m[1] ?? '' });
    const ref = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(text);
    if (ref?.[1]) links.push({ line: i + 1, target: ref[1] });
  });
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const text = heading
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/<[^>]+>/g, '')
        .toLowerCase();
      const base = text
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .trim()
        .replace(/\s/g, '-');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1] ?? '');
  }
  return anchors;
}

/**
 * Checks every link of one Markdown file: http(s) URLs are accepted as public sites; any other scheme, an absolute
 * path, or a relative path leaving `root` is refused; a relative path must name a file or directory that exists,
 * and a `#anchor` (alone, or after a .md file) must name a heading of that file.
 */
export function brokenLinks(file: string, root: string, markdown = readFileSync(file, 'utf8')): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const report = (link: MarkdownLink, problem: string) =>
    broken.push({ file: relative(root, file), line: link.line, target: link.target, problem });
  for (const link of markdownLinks(markdown)) {
    const { target } = link;
    if (/^https?:\/\//i.test(target)) continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      report(link, 'not an http(s) URL: only public sites may be linked outside the repository');
      continue;
    }
    if (target.startsWith('/')) {
      report(link, 'an absolute path: link relative to the file instead');
      continue;
    }
    const [pathPart, anchor] = splitAnchor(target);
    const resolved = pathPart ? resolve(dirname(file), decodeURIComponent(pathPart)) : file;
    if (resolved !== root && !resolved.startsWith(root + sep)) {
      report(link, 'leaves the repository');
      continue;
    }
    if (pathPart && !existsSync(resolved)) {
      report(link, 'no such file');
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && (resolved === file || statSync(resolved).isFile())) {
      const text = resolved === file ? markdown : readFileSync(resolved, 'utf8');
      if (!headingAnchors(text).has(decodeURIComponent(anchor).toLowerCase()))
        report(link, `no heading for #${anchor} in ${relative(root, resolved)}`);
    }
  }
  return broken;
}

function splitAnchor(target: string): [string, string | undefined] {
  const i = target.indexOf('#');
  return i < 0 ? [target, undefined] : [target.slice(0, i), target.slice(i + 1)];
}
