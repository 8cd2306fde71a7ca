// The contract, loaded once. Routing, validation and the operation list all come from it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
export const contractPath = require.resolve('@deals/contract/deals.yaml');
export const contractText = readFileSync(contractPath, 'utf8');

type Document = {
  servers: { url: string }[];
  paths: Record<
    string,
    Record<string, { operationId?: string; requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> } }>
  >;
};
export const contract = parse(contractText) as Document;

/** `/api/v1/integration`: the relative URL of the contract's first server. */
export const basePath = contract.servers[0]!.url;

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every operation of the contract: id, HTTP method and path template. */
export const contractOperations = Object.entries(contract.paths).flatMap(([path, item]) =>
  methods.flatMap((method) => {
    const operationId = item[method]?.operationId;
    return operationId ? [{ operationId, method: method.toUpperCase(), path }] : [];
  }),
);

/** A named request example of an operation (tests and the bench send the reference page's). */
export function requestExample(path: string, method: string, name: string): unknown {
  const example = contract.paths[path]?.[method]?.requestBody?.content['application/json']?.examples?.[name];
  if (!example) throw new Error(`the contract has no request example ${name} for ${method.toUpperCase()} ${path}`);
  return example.value;
}
