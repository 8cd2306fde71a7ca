// The payloads the lab's SQL built, served as GET /events/{id} bodies: each must validate.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire('/work/main/apps/server/package.json');
const express = require('express'); const OpenApiValidator = require('express-openapi-validator'); const YAML = require('yaml');
const spec = YAML.parse(readFileSync('/tmp/issue7/lab/deals-merged.yaml', 'utf8'));
const payloads = readFileSync('/tmp/issue7/lab/sql-payloads.jsonl', 'utf8').trim().split('\n');
const app = express();
app.use(OpenApiValidator.middleware({ apiSpec: spec, validateRequests: true, validateResponses: { removeAdditional: false }, validateSecurity: false, validateFormats: true, ajvFormats: { mode: 'full' } }));
let i = 0;
app.get('/api/v1/integration/events/:event_id', (req, res) => res.json(JSON.parse(payloads[i])));
app.get('/api/v1/integration/events', (req, res) => res.json({ data: payloads.map((p) => JSON.parse(p)), next_cursor: 'abc', has_more: false }));
app.use((err, req, res, next) => res.status(err.status ?? 500).json({ message: err.message }));
const server = app.listen(0, '127.0.0.1'); await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${server.address().port}/api/v1/integration`;
for (i = 0; i < payloads.length; i++) { const r = await fetch(`${base}/events/019cbd8b-dd92-7c03-8a3e-5f0a1b2c3d50`); console.log(JSON.parse(payloads[i]).type, r.status, r.status === 200 ? '' : (await r.text()).slice(0, 300)); }
const r = await fetch(`${base}/events`); console.log('list', r.status);
server.close();
