// What the docs page must show, read from the contract itself so a new operation is checked
// the moment it is added to openapi/deals.yaml.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const contractPath = fileURLToPath(new URL('../../../../openapi/deals.yaml', import.meta.url));

const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface DocumentedOperation {
  operationId: string;
  summary: string;
  method: (typeof httpMethods)[number];
  path: string;
  /** The sidebar group Redoc files the operation under. */
  tag: string;
}

interface OperationObject {
  operationId?: string;
  summary?: string;
  tags?: string[];
}

/** A request the API sends (the contract's `webhooks` section): Redoc files it under its tag, apart from the operations. */
export interface DocumentedWebhook {
  /** The event type, the webhook's name in the contract. */
  name: string;
  summary: string;
  tag: string;
}

/** A tag whose description is a guide: Redoc lists its `###` headings in the tag's sidebar group. */
export interface DocumentedGuide {
  tag: string;
  headings: string[];
}

interface Contract {
  info: { title: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<(typeof httpMethods)[number], OperationObject>>>;
  webhooks?: Record<string, { post?: OperationObject }>;
}

export async function readContract(): Promise<{
  title: string;
  operations: DocumentedOperation[];
  webhooks: DocumentedWebhook[];
  guides: DocumentedGuide[];
}> {
  const contract = parse(await readFile(contractPath, 'utf8')) as Contract;
  const operations: DocumentedOperation[] = [];
  for (const [path, pathItem] of Object.entries(contract.paths)) {
    for (const method of httpMethods) {
      const operation = pathItem[method];
      if (!operation) continue;
      const { operationId, summary, tags } = operation;
      // The lint config (operation-operationId, operation-summary, operation-singular-tag)
      // guarantees these; say which operation broke the assumption if it ever does not hold.
      if (!operationId || !summary || tags?.length !== 1 || !tags[0]) {
        throw new Error(`${method.toUpperCase()} ${path} needs an operationId, a summary and exactly one tag`);
      }
      operations.push({ operationId, summary, method, path, tag: tags[0] });
    }
  }
  const webhooks = Object.entries(contract.webhooks ?? {}).map(([name, { post }]) => {
    // Webhooks carry no operationId (see openapi/.redocly.lint-ignore.yaml), only a summary and a tag.
    if (!post?.summary || post.tags?.length !== 1 || !post.tags[0])
      throw new Error(`webhook ${name} needs a POST with a summary and exactly one tag`);
    return { name, summary: post.summary, tag: post.tags[0] };
  });
  const guides = (contract.tags ?? [])
    .map(({ name, description = '' }) => ({ tag: name, headings: [...description.matchAll(/^### (.+)$/gm)].map((m) => m[1]!.trim()) }))
    .filter((guide) => guide.headings.length > 0);
  return { title: contract.info.title, operations, webhooks, guides };
}
