// bench/api: jsforce walking a query with autoFetch (query + every queryMore), as an application
// does, counting the records it hands over. Config as JSON in CLIENT_CONFIG:
// {instanceUrl, accessToken, soql, version, maxFetch}. Prints {records, seconds} (the walk only).
import jsforce from 'jsforce';

const config = JSON.parse(process.env.CLIENT_CONFIG);
const conn = new jsforce.Connection({
  instanceUrl: config.instanceUrl,
  accessToken: config.accessToken,
  version: config.version,
});
let records = 0;
const start = process.hrtime.bigint();
await new Promise((resolve, reject) => {
  conn
    .query(config.soql)
    .on('record', () => {
      records += 1;
    })
    .on('end', resolve)
    .on('error', reject)
    .run({ autoFetch: true, maxFetch: config.maxFetch });
});
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ records, seconds }) + '\n');
