// The admin commands: their flags, the domain call each makes, and their text output.
// Every flag but --json takes a value; lists are comma-separated.
import type { PrismaClient } from '../generated/prisma/client.ts';
import {
  createApiKey,
  createDepartment,
  createEmployee,
  createTenant,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  seedDemoTenant,
} from './tenancy.ts';

export type Flags = Record<string, string | undefined>;

type CommandSpec<R> = {
  /** Value flags: name → true when required. */
  flags: Record<string, boolean>;
  usage: string;
  run(prisma: PrismaClient, flags: Flags): Promise<R>;
  /** The human-readable form of what `run` returned. */
  text(result: R): string;
};

export type Command = Pick<CommandSpec<unknown>, 'flags' | 'usage'> & {
  execute(prisma: PrismaClient, flags: Flags): Promise<{ json: unknown; text: string }>;
};

// Lets each command's `text` be typed by what its `run` returns, behind one common shape.
function command<R>(spec: CommandSpec<R>): Command {
  return {
    flags: spec.flags,
    usage: spec.usage,
    async execute(prisma, flags) {
      const result = await spec.run(prisma, flags);
      return { json: result, text: spec.text(result) };
    },
  };
}

// parseArgs has no notion of required flags; the CLI checks them before `run`, so `!` holds.
const req = (flags: Flags, name: string): string => flags[name]!;
const list = (value: string): string[] => value.split(',').map((item) => item.trim());
const time = (t: Date | null): string => (t ? t.toISOString() : '-');

function secretNotice(secret: string): string {
  return `\n  ${secret}\n\nStore this key now: it is shown only this once.`;
}

export const commands: Record<string, Command> = {
  'tenant create': command({
    flags: { name: true },
    usage: 'tenant create --name NAME',
    run: (prisma, f) => createTenant(prisma, { name: req(f, 'name') }),
    text: (t) => `tenant ${t.id}  ${t.name}`,
  }),
  'department create': command({
    flags: { tenant: true, name: true, steps: true },
    usage: 'department create --tenant TENANT_ID --name NAME --steps "Lead,Qualified,Won"',
    run: (prisma, f) => createDepartment(prisma, { tenant_id: req(f, 'tenant'), name: req(f, 'name'), steps: list(req(f, 'steps')) }),
    text: (d) => [`department ${d.id}  ${d.name}`, ...d.steps.map((s) => `  step ${s.position}  ${s.id}  ${s.name}`)].join('\n'),
  }),
  'employee create': command({
    flags: { tenant: true, departments: true, 'first-name': true, 'last-name': true, email: false },
    usage: 'employee create --tenant TENANT_ID --departments DEPARTMENT_ID[,...] ' + '--first-name FIRST --last-name LAST [--email EMAIL]',
    run: (prisma, f) =>
      createEmployee(prisma, {
        tenant_id: req(f, 'tenant'),
        department_ids: list(req(f, 'departments')),
        first_name: req(f, 'first-name'),
        last_name: req(f, 'last-name'),
        email: f.email,
      }),
    text: (e) =>
      `employee ${e.id}  ${e.first_name} ${e.last_name}${e.email ? ` <${e.email}>` : ''}\n` +
      `  departments: ${e.department_ids.join(', ')}`,
  }),
  'key create': command({
    flags: { tenant: true, departments: true, name: false },
    usage: 'key create --tenant TENANT_ID --departments DEPARTMENT_ID[,...] [--name NAME]',
    run: (prisma, f) => createApiKey(prisma, { tenant_id: req(f, 'tenant'), department_ids: list(req(f, 'departments')), name: f.name }),
    text: (k) => `API key ${k.id} (prefix ${k.prefix}) for departments ${k.department_ids.join(', ')}\n${secretNotice(k.api_key)}`,
  }),
  'key revoke': command({
    flags: { id: true },
    usage: 'key revoke --id KEY_ID',
    run: (prisma, f) => revokeApiKey(prisma, { id: req(f, 'id') }),
    text: (k) => `API key ${k.id} revoked at ${time(k.revoked_at)}`,
  }),
  'key rotate': command({
    flags: { id: true },
    usage: 'key rotate --id KEY_ID',
    run: (prisma, f) => rotateApiKey(prisma, { id: req(f, 'id') }),
    text: (k) => `API key ${k.id} (prefix ${k.prefix}) replaces ${k.replaces}, now revoked\n${secretNotice(k.api_key)}`,
  }),
  'key list': command({
    flags: { tenant: true },
    usage: 'key list --tenant TENANT_ID',
    // One JSON document with room to grow, rather than a bare array.
    run: async (prisma, f) => ({
      tenant_id: req(f, 'tenant'),
      keys: await listApiKeys(prisma, { tenant_id: req(f, 'tenant') }),
    }),
    text: ({ keys }) =>
      keys.length === 0
        ? 'no API keys'
        : keys
            .map(
              (k) =>
                `${k.prefix}  ${k.id}  ${k.name ?? '(unnamed)'}  ` +
                `${k.revoked_at ? `revoked ${time(k.revoked_at)}` : 'active'}\n` +
                `  created ${time(k.created_at)}, last used ${time(k.last_used_at)}\n` +
                `  departments: ${k.department_ids.join(', ')}`,
            )
            .join('\n'),
  }),
  'seed-demo': command({
    flags: {},
    usage: 'seed-demo',
    run: (prisma) => seedDemoTenant(prisma),
    text: (d) =>
      [
        `demo tenant ${d.tenant_id}`,
        ...d.departments.map(
          (dep) =>
            `  department ${dep.id}  ${dep.name}: ${dep.steps.map((s) => s.name).join(' → ')}; ` +
            dep.employees.map((e) => `${e.first_name} ${e.last_name}`).join(', '),
        ),
        `API key for every demo department:\n${secretNotice(d.api_key)}`,
      ].join('\n'),
  }),
};
