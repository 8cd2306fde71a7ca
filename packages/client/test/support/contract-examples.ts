// The contract's reference examples, read from openapi/deals.yaml so that the client's tests send
// and answer what the contract states rather than a copy of it. The full response validator lives
// in @deals/contract-suite, which depends on this client: importing it here would make the two
// packages a dependency cycle (turbo warns of one), so this reads the two examples it needs directly.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Deal, DealCreate } from '@deals/api-types';
import { parse } from 'yaml';

interface Example {
  value: unknown;
}

interface ContractExamples {
  components: { examples: Record<string, Example> };
  paths: { '/deals': { post: { requestBody: { content: { 'application/json': { examples: Record<string, Example> } } } } } };
}

const contract = parse(readFileSync(createRequire(import.meta.url).resolve('@deals/contract/deals.yaml'), 'utf8')) as ContractExamples;

function exampleValue(example: Example | undefined, name: string): unknown {
  if (!example) throw new Error(`openapi/deals.yaml has no example ${name}`);
  return example.value;
}

/** components/examples/ReferenceDeal: the deal the reference request creates. */
export const referenceDeal = exampleValue(contract.components.examples.ReferenceDeal, 'ReferenceDeal') as Deal;

/** createDeal's `reference` request example: a deal with two new customers. */
export const referenceRequest = exampleValue(
  contract.paths['/deals'].post.requestBody.content['application/json'].examples.reference,
  'createDeal reference',
) as DealCreate;
