// The README's performance tables are the results files under bench/results/, cell for cell: a new
// run's results that land without the README (or a README figure edited by hand) fail here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/paths.js';

type Row = Record<string, string | number>;
const results = (name: string) => JSON.parse(readFileSync(join(projectRoot, 'bench', 'results', name), 'utf8'));
const latest = results('latest.json') as { rows: Row[]; e0: { start: number; end: number; drift: number }; elapsedSec: number };
const peers = results('peers-latest.json') as { rows: Row[]; peers: Record<string, string> };
const scale = results('scale-latest.json') as {
  rows: Row[];
  fillSeconds: number;
  bytesPerAssessment: number;
  peakRssMb: { small: number; full: number };
};
const postFloor = results('post-floor-latest.json') as { rows: Row[]; rounds: number; durationSec: number };
const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
const performance = readme.slice(readme.indexOf('## Performance'), readme.indexOf('## Reliability'));
const prose = performance.replace(/\s+/g, ' ');

/** A README cell without code marks and thousands separators, with a typographic minus as ASCII. */
const plain = (cell: string) =>
  cell
    .replaceAll('`', '')
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replaceAll('−', '-');

/** The body rows of the first table in the section whose header line starts with `header`. */
function readmeTable(header: string): string[][] {
  const lines = performance.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  if (start < 0) throw new Error(`no README table under ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => plain(cell.trim())),
    );
  }
  return rows;
}

const verdict = (target: string | number | undefined, met: string | number | undefined) =>
  target === '' || target === undefined ? '' : `${target}, ${met === 'yes' ? 'met' : 'not met'}`;

describe('README performance tables', () => {
  it('the main table is bench/results/latest.json', () => {
    const table = readmeTable('| endpoint | req/s | p50 ms | p99 ms | bytes/response | E0 in its turns');
    expect(table).toHaveLength(latest.rows.length);
    for (const [i, row] of latest.rows.entries()) {
      const isE0 = i === 0 || i === latest.rows.length - 1;
      expect(table[i]?.slice(1)).toEqual([
        String(row['req/s']),
        String(row['p50 ms']),
        String(row['p99 ms']),
        String(row['bytes/response']),
        isE0 ? '' : String(row['E0 in its turns']),
        String(row['ratio to E0']),
        String(row['turn ratios']),
        String(row['ratio to E0 start/end']),
        verdict(row.target, row.met),
      ]);
    }
    const { start, end, drift } = latest.e0;
    expect(prose).toContain(
      `E0 ${start.toLocaleString('en')} at the start and ${end.toLocaleString('en')} at the end, drift ${(drift * 100).toFixed(1)}%; ${latest.elapsedSec} s`,
    );
  });

  it('the peers table is bench/results/peers-latest.json', () => {
    const table = readmeTable('| read | API req/s | Platformatic DB req/s');
    expect(table).toHaveLength(peers.rows.length);
    for (const [i, row] of peers.rows.entries()) {
      const ratio = (value: string | number | undefined, target: number) => `${value}, ${Number(value) >= target ? 'met' : 'not met'}`;
      const spaced = (cell: string | number | undefined) => String(cell).replaceAll('/', ' / ');
      expect(table[i]?.slice(1)).toEqual([
        String(row['API req/s']),
        String(row['Platformatic DB req/s']),
        String(row['json-server req/s']),
        ratio(row['API / Platformatic (≥ 4)'], 4),
        ratio(row['API / json-server (≥ 6)'], 6),
        spaced(row['p50 ms API/Plt/json']),
        spaced(row['bytes API/Plt/json']),
        String(row.rounds),
      ]);
    }
    expect(prose).toContain(`Platformatic DB ${peers.peers['@platformatic/db']}`);
    expect(prose).toContain(`json-server ${peers.peers['json-server']}`);
  });

  it('the scale table and figures are bench/results/scale-latest.json', () => {
    const table = readmeTable('| endpoint | 20,000 assessments req/s |');
    expect(table).toHaveLength(scale.rows.length);
    for (const [i, row] of scale.rows.entries()) {
      const change = String(row.change);
      const signed = change.startsWith('-') ? change : `+${change}`;
      const within = row['within 15%'] === 'reference' ? '' : row['within 15%'] === 'yes' ? ', met' : ', not met';
      expect(table[i]?.slice(1)).toEqual([
        String(row['20,000 req/s']),
        String(row['1.0M req/s']),
        `${signed}${within}`,
        String(row.rounds),
        String(row['p99 small/full ms']).replace('/', ' / '),
      ]);
    }
    expect(prose).toContain(`in ${scale.fillSeconds} s with the final checkpoint`);
    expect(prose).toContain(`(${scale.bytesPerAssessment.toLocaleString('en')} bytes per assessment`);
    expect(prose).toContain(`${scale.peakRssMb.full} MB with 1,000,000 assessments and ${scale.peakRssMb.small} MB on the small database`);
  });

  it('the POST floor table is bench/results/post-floor-latest.json', () => {
    const table = readmeTable('| server | req/s | p99 ms | bytes/response | ratio to E0 | rounds |');
    expect(table).toHaveLength(postFloor.rows.length);
    for (const [i, row] of postFloor.rows.entries()) {
      expect(table[i]).toEqual([
        plain(String(row.server)),
        String(row['req/s']),
        String(row['p99 ms']),
        String(row['bytes/response']),
        String(row['ratio to E0']),
        String(row.rounds),
      ]);
    }
    expect(prose).toContain(`four alternating rounds of ${postFloor.durationSec} s`);
    expect(postFloor.rounds).toBe(4);
  });
});
