import { readFileSync, writeFileSync } from 'node:fs';
import YAML from '/work/main/node_modules/yaml/dist/index.js';
const doc = YAML.parse(readFileSync('deals-merged.yaml', 'utf8'));
const mode = process.argv[2]; // no410 | opid: the variants that showed why webhooks have neither
for (const [name, item] of Object.entries(doc.webhooks)) {
  if (mode.includes('no410')) delete item.post.responses['410'];
  if (mode.includes('opid')) item.post.operationId = name.replace(/[._](\w)/g, (_, c) => c.toUpperCase()) + 'Webhook';
}
if (mode.includes('no410')) delete doc.components.responses.WebhookGone;
writeFileSync(`deals-${mode}.yaml`, YAML.stringify(doc, { lineWidth: 0 }));
