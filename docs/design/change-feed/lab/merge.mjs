// Merges contract-draft.yaml into a copy of openapi/deals.yaml (lab/deals-merged.yaml).
import { readFileSync, writeFileSync } from 'node:fs';
import YAML from '/work/main/node_modules/yaml/dist/index.js';
const base = YAML.parse(readFileSync('/work/main/openapi/deals.yaml', 'utf8'));
const draft = YAML.parse(readFileSync('/tmp/issue7/contract-draft.yaml', 'utf8'));
base.tags.push(...draft.tags);
Object.assign(base.paths, draft.paths);
base.webhooks = draft.webhooks;
for (const [k, v] of Object.entries(draft.components)) base.components[k] = { ...(base.components[k] ?? {}), ...v };
writeFileSync('/tmp/issue7/lab/deals-merged.yaml', YAML.stringify(base, { lineWidth: 0 }));
