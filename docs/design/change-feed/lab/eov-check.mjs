// express-openapi-validator 5.6.2 against the merged contract: loads with `webhooks`, parses
// `types` (explode), and validates Event (oneOf by const type) responses.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire('/work/main/apps/server/package.json');
const express = require('express');
const OpenApiValidator = require('express-openapi-validator');
const YAML = require('yaml');
const spec = YAML.parse(readFileSync('/tmp/issue7/lab/deals-merged.yaml', 'utf8'));
const ex = spec.components.examples;
const app = express();
app.use(OpenApiValidator.middleware({ apiSpec: structuredClone(spec), validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true }, validateResponses: { removeAdditional: false }, validateSecurity: false, validateFormats: true, ajvFormats: { mode: 'full' }, ignoreUndocumented: false }));
let respond = (req) => ex.EventPage.value;
app.get('/api/v1/integration/events', (req, res) => res.json(respond(req)));
app.get('/api/v1/integration/events/:event_id', (req, res) => res.json(respond(req)));
app.use((err, req, res, next) => res.status(err.status ?? 500).json({ message: err.message, errors: err.errors?.slice(0, 3) }));
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${server.address().port}/api/v1/integration`;
const h = { 'X-Api-Key': 'k', 'X-Department-Id': '019c19a9-34be-71d1-9152-100d38b983ab' };
const show = async (label, path) => { const r = await fetch(base + path, { headers: h }); const t = await r.text(); console.log(label, r.status, t.slice(0, 220)); };
let seenTypes;
respond = (req) => { seenTypes = req.query.types; return ex.EventPage.value; };
await show('page, one types value:', '/events?types=deal.updated'); console.log('  req.query.types =', JSON.stringify(seenTypes));
await show('page, two types:', '/events?types=deal.updated&types=deal.step_changed'); console.log('  req.query.types =', JSON.stringify(seenTypes));
await show('unknown type:', '/events?types=deal.exploded');
await show('start=now:', '/events?start=now');
for (const name of ['DealCreatedEvent', 'DealStepChangedEvent', 'CustomerUpdatedEvent', 'DealDeletedEvent', 'CustomerCreatedEvent']) {
  respond = () => ex[name].value; await show(`getEvent ${name}:`, '/events/019cbd8b-dd92-7c03-8a3e-5f0a1b2c3d50');
}
respond = () => ({ ...ex.DealDeletedEvent.value, type: 'deal.updated' }); await show('mislabelled (must fail):', '/events/019cbd8b-dd92-7c03-8a3e-5f0a1b2c3d50');
respond = () => ({ ...ex.DealCreatedEvent.value, data: { ...ex.DealCreatedEvent.value.data, previous_attributes: {} } }); await show('created with previous_attributes (must fail):', '/events/019cbd8b-dd92-7c03-8a3e-5f0a1b2c3d50');
respond = () => ex.DealCreatedEvent.value; await show('webhook path is not a route:', '/deal.created');
server.close();
