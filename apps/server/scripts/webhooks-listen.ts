// `npm run webhooks:listen`: a local webhook receiver for development, what `stripe listen` is
// for Stripe users. It listens on 127.0.0.1, registers itself as a webhook endpoint of a
// department through the API (with the typed client), verifies every delivery with the
// client's verifyWebhook and prints one line per event; Ctrl-C deletes the endpoint again.
//
//   npm run webhooks:listen -- [--api-key KEY --department ID] [--url API] [--events LIST] [--port N] [--json]
//
// Without --api-key it creates a demo tenant with the admin CLI (`seed-demo`, on the database
// `npm start` uses) and prints its key and department: send requests with those for their
// events to arrive here. The API must run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to accept
// an http://127.0.0.1 URL. Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 failed, 2 usage.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { components } from '@deals/api-types';
import { createDealsClient, type DealsClient, verifyWebhook, type WebhookEvent, WebhookVerificationError } from '@deals/client';

type EnabledEvents = components['schemas']['EnabledEvents'];
type Endpoint = components['schemas']['WebhookEndpointWithSecret'];

const DEFAULT_API = 'http://localhost:3000/api/v1/integration';
const RECEIVER_PATH = '/webhooks';
const serverDir = fileURLToPath(new URL('..', import.meta.url));

const usage = `usage: npm run webhooks:listen -- [options]

  --api-key KEY       the API key to register with (default: $DEALS_API_KEY; without one, a demo
                      tenant is created with \`npm run -s admin -- seed-demo\` and its key is printed)
  --department ID     the department whose events to receive (default: $DEALS_DEPARTMENT_ID;
                      required with --api-key)
  --url URL           the API (default: $DEALS_API_URL or ${DEFAULT_API})
  --events LIST       comma-separated event types, or '*' for all (default '*')
  --port N            the local port to receive on (default: any free port)
  --json              also print each event's payload

The API must run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (it refuses http and 127.0.0.1 otherwise):
  WEBHOOK_ALLOW_PRIVATE_NETWORKS=true npm start`;

class UsageError extends Error {}
/** A failure already explained to the user: print the message, exit 1. */
class ListenError extends Error {}

type Options = { apiKey?: string; department?: string; url: string; events: EnabledEvents; port: number; json: boolean };

function parseOptions(argv: string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'api-key': { type: 'string' },
        department: { type: 'string' },
        url: { type: 'string' },
        events: { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError('');
  const text = (name: string, env?: string) => (values[name] as string | undefined) ?? (env ? process.env[env] || undefined : undefined);
  const apiKey = text('api-key', 'DEALS_API_KEY');
  const department = text('department', 'DEALS_DEPARTMENT_ID');
  if (apiKey && !department) throw new UsageError('--api-key needs --department (a department the key was granted)');
  if (department && !apiKey) throw new UsageError('--department needs --api-key');
  const port = Number(text('port') ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, not ${text('port')}`);
  const events = (text('events') ?? '*').split(',').map((event) => event.trim()) as EnabledEvents;
  const url = (text('url', 'DEALS_API_URL') ?? DEFAULT_API).replace(/\/+$/, '');
  return { apiKey, department, url, events, port, json: values.json === true };
}

/** A key and department: the ones given, or a new demo tenant's. */
async function credentials(options: Options): Promise<{ apiKey: string; department: string; seeded: boolean }> {
  if (options.apiKey && options.department) return { apiKey: options.apiKey, department: options.department, seeded: false };
  const host = new URL(options.url).hostname;
  if (!['localhost', '127.0.0.1', '[::1]'].includes(host)) {
    throw new ListenError(`${options.url} is not a local API: give --api-key and --department`);
  }
  // The admin CLI opens the database `npm start` uses (DATABASE_URL, or the embedded one in
  // DATA_DIR, shared with a running server); it prints one JSON document on stdout.
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/admin/cli.ts', 'seed-demo', '--json'], {
      cwd: serverDir,
    }));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new ListenError(
      `could not create a demo tenant with the admin CLI${stderr ? `:\n${stderr}` : ''}\nor give --api-key and --department`,
    );
  }
  const demo = JSON.parse(stdout) as { api_key: string; departments: { id: string; name: string }[] };
  const department = demo.departments[0]!;
  print(
    [
      'No --api-key: created a demo tenant (npm run -s admin -- seed-demo). Its events reach this listener when you send',
      `  X-Api-Key:       ${demo.api_key}`,
      `  X-Department-Id: ${department.id}   (${department.name})`,
      `Next time: npm run webhooks:listen -- --api-key ${demo.api_key} --department ${department.id}`,
      '',
    ].join('\n'),
  );
  return { apiKey: demo.api_key, department: department.id, seeded: true };
}

/** The receiver: verifies each POST with the endpoint's secret (known once registered) and prints it. */
function startReceiver(port: number, secret: Promise<string>, json: boolean): Promise<Server> {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== RECEIVER_PATH) return void res.writeHead(404).end();
    // A delivery may arrive before the API's answer to the registration: it waits for the secret.
    Promise.all([secret, readBody(req)]).then(
      ([key, body]) => answer(res, verify(key, body, req, seen, json)),
      () => answer(res, 500),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function verify(secret: string, body: Buffer, req: IncomingMessage, seen: Set<string>, json: boolean): number {
  let event: WebhookEvent;
  try {
    event = verifyWebhook(secret, body, req.headers);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    process.stderr.write(`${new Date().toISOString()}  rejected ${req.headers['webhook-id'] ?? '(no webhook-id)'}: ${error.reason}\n`);
    return 400;
  }
  // The same webhook-id again is a redelivery (a retry, or POST /events/{id}/redeliver): at least once.
  const again = seen.has(event.id) ? '  (again)' : '';
  seen.add(event.id);
  print(`${eventLine(event)}${again}\n`);
  if (json) print(`${JSON.stringify(event, null, 2)}\n`);
  return 200;
}

/** time, type, event id, resource id, version: the fields a receiver deduplicates and orders by. */
function eventLine(event: WebhookEvent, receivedAt = new Date()): string {
  const [resource, version] =
    event.type === 'webhook.test' ? [event.data.endpoint_id, '-'] : [event.data.object.id, `v${event.data.version}`];
  return `${receivedAt.toISOString()}  ${event.type.padEnd(17)}  ${event.id}  ${resource}  ${version}`;
}

function answer(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'rejected');
}

/** `seeded`: the key is a demo tenant's that this run created, in the database the admin CLI found. */
async function register(client: DealsClient, url: string, events: EnabledEvents, api: string, seeded: boolean): Promise<Endpoint> {
  const { data, error, response } = await client
    .POST('/webhook-endpoints', { body: { url, enabled_events: events, description: 'npm run webhooks:listen (deleted when it stops)' } })
    .catch((failure: Error) => {
      throw new ListenError(
        `no API answers at ${api} (${failure.cause ?? failure.message}): start it with\n  WEBHOOK_ALLOW_PRIVATE_NETWORKS=true npm start`,
      );
    });
  if (data) return data;
  if (response.status === 422 && error?.errors?.url) {
    throw new ListenError(
      `The API refused ${url}: ${error.errors.url.join('; ')}\n` +
        'A local receiver needs the API to allow http and private addresses. Restart it with\n' +
        '  WEBHOOK_ALLOW_PRIVATE_NETWORKS=true npm start',
    );
  }
  // A proxy in between may answer without a problem body.
  const problem = error as components['schemas']['Problem'] | undefined;
  const hint =
    response.status === 401 && seeded
      ? '\nThe demo tenant was created in the database of this shell (DATABASE_URL, or the embedded one in DATA_DIR):' +
        ' run the listener with the environment of the server, or give --api-key and --department.'
      : '';
  // A 422 names each field, e.g. an --events entry that is no event type.
  const fields = Object.entries(problem?.errors ?? {}).map(([field, messages]) => `\n  ${field}: ${messages.join('; ')}`);
  throw new ListenError(
    `could not register the endpoint: ${response.status} ${problem ? `${problem.title}: ${problem.detail}` : ''}${fields.join('')}${hint}`,
  );
}

async function unregister(client: DealsClient, endpoint: Endpoint, api: string): Promise<boolean> {
  const { response } = await client
    .DELETE('/webhook-endpoints/{endpoint_id}', { params: { path: { endpoint_id: endpoint.id } } })
    .catch(() => ({ response: undefined }));
  // 404: someone deleted it already, which is what we wanted.
  if (response?.ok || response?.status === 404) return true;
  process.stderr.write(
    `could not delete webhook endpoint ${endpoint.id} (${response ? response.status : 'API unreachable'}); delete it with\n` +
      `  curl -X DELETE ${api}/webhook-endpoints/${endpoint.id} -H "X-Api-Key: …" -H "X-Department-Id: …"\n`,
  );
  return false;
}

function print(text: string): void {
  process.stdout.write(text);
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const { apiKey, department, seeded } = await credentials(options);
  // No retries: creating an endpoint takes no Idempotency-Key, so a retry could create two.
  const client = createDealsClient({ baseUrl: options.url, apiKey, departmentId: department, retry: false });

  let registered: (secret: string) => void = () => undefined;
  const secret = new Promise<string>((resolve) => (registered = resolve));
  const server = await startReceiver(options.port, secret, options.json);
  const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${RECEIVER_PATH}`;
  let endpoint: Endpoint;
  try {
    endpoint = await register(client, receiverUrl, options.events, options.url, seeded);
  } catch (error) {
    server.close();
    throw error;
  }
  registered(endpoint.secret);
  print(
    `Listening on ${receiverUrl} for ${endpoint.enabled_events.join(', ')} of department ${department}` +
      ` (webhook endpoint ${endpoint.id}). Ctrl-C deletes the endpoint and stops.\n`,
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second Ctrl-C while the endpoint is being deleted stops at once.
  process.once('SIGINT', () => process.exit(130));
  print(`\n${signal}: deleting webhook endpoint ${endpoint.id}\n`);
  server.closeAllConnections();
  server.close();
  return (await unregister(client, endpoint, options.url)) ? 0 : 1;
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    if (error.message) process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
    else print(`${usage}\n`);
    code = error.message ? 2 : 0;
  } else if (error instanceof ListenError) {
    process.stderr.write(`error: ${error.message}\n`);
    code = 1;
  } else throw error;
}
// Waits for stdout (which may be a slow pipe) before exiting.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
