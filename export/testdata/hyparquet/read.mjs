// Reads a Parquet file with hyparquet and prints one JSON object per row,
// so export's Go test compares what an independent reader sees with the
// JSON lines export. Dates print as ISO strings, BigInts as strings.
import { readFileSync } from 'node:fs'
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet'

const buf = readFileSync(process.argv[2])
const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const meta = parquetMetadata(file)
const schema = parquetSchema(meta)
const rows = await parquetReadObjects({ file, rowFormat: 'object' })
const replacer = (_, v) => (typeof v === 'bigint' ? v.toString() : v)
process.stdout.write(JSON.stringify({
  columns: schema.children.map(c => c.element.name),
  rowGroups: meta.row_groups.length,
}, replacer) + '\n')
for (const r of rows) process.stdout.write(JSON.stringify(r, replacer) + '\n')
