// One jsforce operation against the CRM, as an application would write it.
// Usage: node jsforce_ops.mjs <operation>, with the org's details as JSON in CLIENT_CONFIG.
// Prints the operation's result as one line of JSON; a failure prints the error and exits 1.
import fs from 'node:fs';
import jsforce from 'jsforce';
import jwt from 'jsonwebtoken';

const config = JSON.parse(process.env.CLIENT_CONFIG);
const oauth2 = {
  loginUrl: config.loginUrl,
  clientId: config.clientId,
  clientSecret: config.clientSecret,
};

/** A connection that already holds a token (from CLIENT_CONFIG). */
function tokenConnection() {
  return new jsforce.Connection({
    oauth2,
    instanceUrl: config.instanceUrl,
    accessToken: config.accessToken,
    refreshToken: config.refreshToken,
  });
}

const operations = {
  async password_login() {
    const conn = new jsforce.Connection({ oauth2 });
    const userInfo = await conn.login(config.username, config.password + config.securityToken);
    const me = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${userInfo.id}'`);
    return { userInfo, instanceUrl: conn.instanceUrl, accessToken: conn.accessToken, me: me.records };
  },

  async jwt_login() {
    const assertion = jwt.sign(
      { iss: config.clientId, sub: config.username, aud: config.loginUrl },
      fs.readFileSync(config.privateKeyFile, 'utf8'),
      { algorithm: 'RS256', expiresIn: 180 },
    );
    const conn = new jsforce.Connection({ oauth2: { loginUrl: config.loginUrl } });
    const userInfo = await conn.authorize({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    });
    const me = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${userInfo.id}'`);
    return { userInfo, instanceUrl: conn.instanceUrl, me: me.records };
  },

  // The access token in CLIENT_CONFIG is already revoked: the first call refreshes; then the
  // refreshed token is revoked too, and the second call refreshes again.
  async two_refreshes() {
    const conn = tokenConnection();
    const refreshed = [];
    conn.on('refresh', (accessToken) => refreshed.push(accessToken));
    const first = await conn.query('SELECT COUNT() FROM Contact');
    await conn.oauth2.revokeToken(conn.accessToken);
    const second = await conn.query('SELECT COUNT() FROM Contact');
    return { refreshed, counts: [first.totalSize, second.totalSize], refreshToken: conn.refreshToken };
  },

  async query_autofetch() {
    const conn = tokenConnection();
    const records = [];
    const query = conn
      .query('SELECT Id, LastName, Account.Name FROM Contact')
      .on('record', (record) => records.push(record.Id));
    await query.run({ autoFetch: true, maxFetch: 100000 });
    return { totalSize: query.totalSize, fetched: records.length, distinct: new Set(records).size };
  },

  async crud() {
    const conn = tokenConnection();
    const contact = conn.sobject('Contact');
    const created = await contact.create({ FirstName: 'Ada', LastName: 'Lovelace' });
    const updated = await contact.update({ Id: created.id, Email: 'ada@engine.example' });
    const read = await contact.retrieve(created.id);
    const deleted = await contact.destroy(created.id);
    let after;
    try {
      after = await contact.retrieve(created.id);
    } catch (error) {
      after = { errorCode: error.errorCode, name: error.name };
    }
    return { created, updated, read, deleted, after };
  },

  async collections() {
    const conn = tokenConnection();
    const lead = conn.sobject('Lead');
    const rows = [1, 2, 3].map((n) => ({ LastName: `Collection ${n}`, Company: 'Collections Co' }));
    const created = await lead.create(rows, { allOrNone: true });
    const ids = created.map((r) => r.id);
    const updated = await lead.update(ids.map((Id) => ({ Id, Status: 'Working - Contacted' })));
    const read = await lead.retrieve(ids);
    const deleted = await lead.destroy(ids);
    const left = await conn.query("SELECT COUNT() FROM Lead WHERE Company = 'Collections Co'");
    return { created, updated, read, deleted, left: left.totalSize };
  },

  // Arrays upsert through sObject collections by an external id (composite/sobjects/X/Field).
  async collections_upsert() {
    const conn = tokenConnection();
    const contact = conn.sobject('Contact');
    const keys = [1, 2].map((n) => `${config.runId}-${n}`);
    const first = await contact.upsert([{ External_Id__c: keys[0], LastName: 'Upsert One' }],
      'External_Id__c');
    const second = await contact.upsert(
      keys.map((key, n) => ({ External_Id__c: key, LastName: `Upsert ${n + 1} again` })),
      'External_Id__c');
    const read = await conn.query(
      `SELECT Id, External_Id__c, LastName FROM Contact WHERE External_Id__c IN ('${keys.join("','")}') ORDER BY External_Id__c`);
    return { first, second, read: read.records };
  },

  async composite() {
    const conn = tokenConnection();
    const body = {
      allOrNone: true,
      compositeRequest: [
        {
          method: 'POST',
          url: `/services/data/v${conn.version}/sobjects/Account`,
          referenceId: 'newAccount',
          body: { Name: 'Composite Account' },
        },
        {
          method: 'POST',
          url: `/services/data/v${conn.version}/sobjects/Contact`,
          referenceId: 'newContact',
          body: { LastName: 'Composite', AccountId: '@{newAccount.id}' },
        },
        {
          method: 'GET',
          url: `/services/data/v${conn.version}/sobjects/Contact/@{newContact.id}?fields=AccountId`,
          referenceId: 'readBack',
        },
      ],
    };
    const result = await conn.requestPost('/composite', body);
    return result;
  },

  async describe() {
    const conn = tokenConnection();
    const global = await conn.describeGlobal();
    const contact = await conn.sobject('Contact').describe();
    return {
      sobjects: global.sobjects.map((s) => s.name),
      name: contact.name,
      fields: contact.fields.map((f) => ({ name: f.name, type: f.type, externalId: f.externalId })),
    };
  },

  async limits() {
    const conn = tokenConnection();
    return conn.limits();
  },

  async report_list() {
    const conn = tokenConnection();
    return conn.analytics.reports();
  },

  async report_run() {
    const conn = tokenConnection();
    const found = await conn.query("SELECT Id FROM Report WHERE Name = 'Contacts with email'");
    return conn.analytics.report(found.records[0].Id).execute({ details: true });
  },
};

const name = process.argv[2];
try {
  const result = await operations[name]();
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (error) {
  process.stderr.write(`${name}: ${error.name}: ${error.message}\n${error.stack}\n`);
  process.exit(1);
}
