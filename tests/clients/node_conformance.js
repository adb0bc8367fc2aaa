// node-postgres against brainwh serve: one run, one JSON line of results (or of the error).
// Usage: node node_conformance.js <folder with node_modules/pg> <port>
const { Client } = require(require('path').join(process.argv[2], 'node_modules', 'pg'));

(async () => {
  const client = new Client({ host: '127.0.0.1', port: Number(process.argv[3]),
                              user: 'brainwh', database: 'brainwh' });
  await client.connect();
  const out = {};
  const q = async (text, values, extra) => (await client.query({ text, values, ...extra })).rows;
  out.any = await q('select acronym from structures where acronym = any($1::text[]) order by 1',
                    [['MOp', 'VISp']]);
  out.params = await q('select count(*)::int as n from structures where depth > $1 and species = $2',
                       [3, 'mouse']);
  out.types = await q('select $1::date as d, $2::timestamptz as t, $3::int[] as a, $4::numeric * 2 as n',
                      [new Date('2000-01-01T00:00:00Z'), new Date('2024-01-02T03:04:05Z'), [1, 2], '1.25']);
  out.macro = await q('select count(*)::int as n from compare_composition($1, $2, $3)',
                      ['MOp', 'STRd', 'class']);
  out.lists = await q('select count(*)::int as n from differential_search($1, $2)', [['FL'], ['Str']]);
  out.named = await q('select structure_id from structures where acronym = $1', ['MOp'],
                      { name: 'by-acronym', rowMode: 'array' });
  out.named_again = await q('select structure_id from structures where acronym = $1', ['VISp'],
                            { name: 'by-acronym', rowMode: 'array' });
  try { await q('select * from no_such_table'); } catch (e) { out.error = e.code; }
  out.after_error = await q('select 1 as one');
  await client.end();
  console.log(JSON.stringify(out));
})().catch((error) => { console.log(JSON.stringify({ failed: String(error) })); process.exit(1); });
