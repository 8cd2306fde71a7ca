// `npm run mock`: serves openapi/deals.yaml with Prism for frontend teams until interrupted.
import { startMock } from './start-mock.ts';

const config = readConfig(process.env);
// watch: edits of openapi/deals.yaml are served without a restart.
const mock = await startMock({ ...config, watch: true, log: (line) => console.log(line) });
console.log(`Deals API mock serving openapi/deals.yaml at ${mock.baseUrl} (send X-Api-Key and X-Department-Id)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void mock.stop().then(() => process.exit(0)));
}

function readConfig(env: NodeJS.ProcessEnv): { port: number; host: string } {
  const port = Number(env.MOCK_PORT || 4010);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`MOCK_PORT must be a port number, got ${env.MOCK_PORT}`);
  return { port, host: env.MOCK_HOST || '127.0.0.1' };
}
