import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config';

const root = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

describe('documentation stays true to the code', () => {
  it('the README settings table names every setting the code reads', () => {
    // Prepare
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Settings'), readme.indexOf('## Running it elsewhere'));

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
