import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config';

const root = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

/** The documents whose relative links must resolve: the README, every page under docs/, and infra's README. */
const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'infra/README.md',
];

/** A section of a markdown file: from its `## ` heading to the next one. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`No section '## ${heading}'`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** Markdown outside fenced code blocks, with inline code spans blanked (links there are not links). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Every relative link target in a document (inline links and images), with the line it is on. */
function relativeLinks(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  prose(markdown).forEach((text, i) => {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: i + 1 });
    }
  });
  return links;
}

/** Why a link does not resolve from `file`, or undefined when it does. */
function brokenLink(file: string, target: string): string | undefined {
  const [pathPart = '', anchor] = target.split('#', 2);
  const resolved =
    pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
  const absolute = path.join(root, resolved);
  if (resolved.startsWith('..') || !existsSync(absolute)) return `${resolved} does not exist`;
  if (anchor === undefined) return undefined;
  if (statSync(absolute).isDirectory() || !resolved.endsWith('.md'))
    return `#${anchor} in a file that is not markdown`;
  return anchorsOf(read(resolved)).has(decodeURIComponent(anchor))
    ? undefined
    : `${resolved} has no #${anchor}`;
}

describe('documentation stays true to the code', () => {
  it('the README settings table names every setting the code reads', () => {
    // Prepare
    const table = section(read('README.md'), 'Settings');

    // Assess
    for (const name of Object.keys(SETTINGS)) expect(table, name).toContain(`\`${name}\``);
  });

  it('local.settings.sample.json holds only settings the code or the Functions host reads', () => {
    // Prepare
    const sample = JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> };

    // Assess
    for (const name of Object.keys(sample.Values)) {
      expect(name in SETTINGS || name === 'FUNCTIONS_WORKER_RUNTIME', name).toBe(true);
    }
  });
});

describe('documentation links', () => {
  it('every relative link in README.md, docs/*.md and infra/README.md names a file and heading that exist', () => {
    // Prepare
    const links = DOCUMENTS.flatMap((file) => relativeLinks(read(file)).map((link) => ({ file, ...link })));

    // Act
    const broken = links.flatMap(({ file, line, target }) => {
      const why = brokenLink(file, target);
      return why ? [`${file}:${line} (${target}): ${why}`] : [];
    });

    // Assess
    expect(links.length).toBeGreaterThan(DOCUMENTS.length);
    expect(broken).toEqual([]);
  });

  it('the link check sees a missing file and a missing heading', () => {
    // Prepare
    const page =
      '# Title\n\n## Two words\n\n[ok](#two-words) [gone](#three-words) [no file](nowhere.md) `[code](x.md)`\n';

    // Act
    const targets = relativeLinks(page).map((l) => l.target);

    // Assess
    expect(targets).toEqual(['#two-words', '#three-words', 'nowhere.md']);
    expect([...anchorsOf(page)]).toEqual(['title', 'two-words']);
    expect(brokenLink('README.md', 'docs/spec.md#5-scheduling-budgets-and-freshness')).toBeUndefined();
    expect(brokenLink('README.md', 'docs/spec.md#no-such-heading')).toMatch(/has no #no-such-heading/);
    expect(brokenLink('docs/spec.md', 'nowhere.md')).toMatch(/does not exist/);
  });

  it('the README stays a front door with an index of every document under docs/', () => {
    // Prepare
    const readme = read('README.md');
    const index = section(readme, 'Docs');

    // Assess
    expect(readme.split('\n').length).toBeLessThanOrEqual(260);
    for (const file of DOCUMENTS.filter((f) => f.startsWith('docs/')))
      expect(index, file).toContain(`](${file})`);
  });

  it('the contract keeps its thirteen numbered sections', () => {
    // Prepare
    const headings = [...read('docs/spec.md').matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));

    // Assess
    expect(headings).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });
});
