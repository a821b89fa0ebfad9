/**
 * Configuration of the app without editing code: a YAML or JSON file, chosen with `--config <file>` or
 * MALL_BACKUP_CONFIG. Every field has a default, so no file at all gives the default app.
 */
import * as fs from 'node:fs';
import { parseDocument } from 'yaml';
import { LOG_LEVELS, OPERATOR_DEFAULTS } from '../contractor/operator-props';
import { JsonSchema } from '../permits/schema-parts';
import { schemaProblems } from '../permits/backup-validation';
import { PropError } from '../common/prop-errors';
import { ARGOCD_DEFAULTS } from './argocd';
import { SAMPLES_NAMESPACE } from './charts';
import type { ResourceSpec } from '../common/resources';

export interface MallBackupConfig {
  readonly operator: {
    readonly namespace: string;
    readonly image?: string;
    readonly replicas: number;
    readonly leaderElection: boolean;
    readonly watchNamespaces: string[];
    /** Render the watched namespaces too (Pod Security "restricted"), for clusters where nothing else creates them. */
    readonly createWatchNamespaces: boolean;
    readonly logLevel: (typeof LOG_LEVELS)[number];
    readonly resources: ResourceSpec;
    readonly maxConcurrentRuns?: number;
    readonly maxConcurrentRunsPerVault?: number;
    readonly verifyScratchSize?: string;
  };
  readonly samples: { readonly enabled: boolean; readonly namespace: string };
  readonly argocd: {
    readonly enabled: boolean;
    readonly repoURL: string;
    readonly targetRevision: string;
    readonly path: string;
    readonly namespace: string;
    readonly project: string;
    readonly destinationServer: string;
    readonly automated: boolean;
  };
  readonly monitoring: { readonly enabled: boolean };
}

export const DEFAULT_CONFIG: MallBackupConfig = {
  operator: {
    namespace: OPERATOR_DEFAULTS.namespace,
    replicas: OPERATOR_DEFAULTS.replicas,
    leaderElection: OPERATOR_DEFAULTS.leaderElection,
    watchNamespaces: [],
    createWatchNamespaces: false,
    logLevel: OPERATOR_DEFAULTS.logLevel,
    resources: OPERATOR_DEFAULTS.resources,
  },
  samples: { enabled: true, namespace: SAMPLES_NAMESPACE },
  argocd: {
    enabled: true,
    repoURL: 'https://github.com/mall-example/mall-backup.git',
    ...ARGOCD_DEFAULTS,
  },
  monitoring: { enabled: false },
};

const str = (description: string): JsonSchema => ({ type: 'string', minLength: 1, maxLength: 512, description });
const amounts: JsonSchema = {
  type: 'object',
  description: 'cpu and memory quantities',
  properties: { cpu: str('e.g. "500m"'), memory: str('e.g. "256Mi"') },
};

/** The shape of a configuration file: every field optional. */
export const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'mall-backup app configuration',
  properties: {
    operator: {
      type: 'object',
      description: 'the operator deployment',
      properties: {
        namespace: str('namespace of the operator'),
        image: str('operator image, pinned by tag or digest'),
        replicas: { type: 'integer', minimum: 1, maximum: 10, description: 'operator pods' },
        leaderElection: { type: 'boolean', description: 'elect a leader through a Lease' },
        watchNamespaces: {
          type: 'array',
          maxItems: 100,
          'x-kubernetes-list-type': 'set',
          items: str('a namespace'),
          description: 'namespaces to watch; empty for all',
        },
        createWatchNamespaces: {
          type: 'boolean',
          description:
            'create the watched namespaces (otherwise they must exist: the operator is bound to a Role in each)',
        },
        logLevel: { type: 'string', enum: LOG_LEVELS, description: 'log level' },
        resources: {
          type: 'object',
          description: 'requests and limits',
          properties: { requests: amounts, limits: amounts },
        },
        maxConcurrentRuns: {
          type: 'integer',
          minimum: 0,
          maximum: 100000,
          description: 'cluster-wide cap on concurrent backup runs; 0 for none',
        },
        maxConcurrentRunsPerVault: {
          type: 'integer',
          minimum: 0,
          maximum: 100000,
          description: 'cap on concurrent runs into one vault; 0 for none',
        },
        verifyScratchSize: str(
          "size of a test restore's scratch volume, a quantity of at least 1Gi (default 20Gi); a larger snapshot " +
            'fails the verification with ScratchTooSmall',
        ),
      },
    },
    samples: {
      type: 'object',
      description: 'sample Backups',
      properties: {
        enabled: { type: 'boolean', description: 'render the samples' },
        namespace: str('namespace of the samples'),
      },
    },
    argocd: {
      type: 'object',
      description: 'Argo CD Applications',
      properties: {
        enabled: { type: 'boolean', description: 'render the Applications' },
        repoURL: str('Git repository of the synthesized manifests'),
        targetRevision: str('branch, tag or commit'),
        path: str('folder of the manifests in the repository'),
        namespace: str('namespace of Argo CD'),
        project: str('Argo CD project'),
        destinationServer: str('cluster API server URL'),
        automated: { type: 'boolean', description: 'automated sync with prune and self-heal' },
      },
    },
    monitoring: {
      type: 'object',
      description: 'Prometheus Operator alerts and scraping',
      properties: {
        enabled: {
          type: 'boolean',
          description: 'render a PrometheusRule and a ServiceMonitor (needs the Prometheus Operator CRDs)',
        },
      },
    },
  },
};

export class ConfigError extends Error {
  constructor(
    public readonly file: string,
    public readonly problems: string[],
  ) {
    super(`configuration ${file} is not valid:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Collects what the constructs refuse while the app is built from a configuration, in the configuration's
 * words: each construct is built under the config key its props come from, so "BackupOperator
 * operator/operator: image ..." becomes "config.operator.image ...", and every construct gets its say before
 * the synth fails.
 */
export class ConfigProblems {
  private readonly problems: string[] = [];
  constructor(private readonly file: string) {}

  public under<T>(key: string, build: () => T): T | undefined {
    try {
      return build();
    } catch (error) {
      if (!(error instanceof PropError)) throw error;
      for (const p of error.problems) if (!this.problems.includes(`${key}.${p}`)) this.problems.push(`${key}.${p}`);
      return undefined;
    }
  }

  public throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(this.file, this.problems);
  }
}

/** "line L, column C" of a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** yaml's messages end with the offending lines and a caret; they are kept, indented under the problem. */
const yamlProblem = (kind: string, e: Error) => `not valid ${kind}: ${e.message.trimEnd().replace(/\n/g, '\n      ')}`;

/**
 * A .json file is JSON (a trailing comma is an error, with where it is; a key twice too, which JSON.parse
 * would let pass, keeping the last); anything else is YAML (of which JSON is a subset). A byte-order mark,
 * which some editors write, is not part of either.
 */
function parseText(withBom: string, file: string): unknown {
  const text = withBom.replace(/^\uFEFF/, '');
  if (/\.json$/i.test(file)) {
    let value: unknown;
    try {
      value = text.trim() === '' ? {} : JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const at = /at position (\d+)/.exec(message);
      throw new ConfigError(file, [
        `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}` +
          `${at ? ` at ${lineAndColumn(text, Number(at[1]))}` : ''}`,
      ]);
    }
    // Valid JSON is valid YAML: yaml's parser finds the keys given twice, with their lines.
    const twice = parseDocument(text, { prettyErrors: true, uniqueKeys: true }).errors.filter(
      (e) => e.code === 'DUPLICATE_KEY',
    );
    if (twice.length > 0)
      throw new ConfigError(
        file,
        twice.map((e) => yamlProblem('JSON', e)),
      );
    return value;
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      file,
      doc.errors.map((e) => yamlProblem('YAML', e)),
    );
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    // yaml refuses to expand aliases past the count (a "billion laughs" file would take all memory).
    throw new ConfigError(file, [
      `not valid YAML: too many aliases (${(error as Error).message}); ` +
        `write the values out, a configuration needs few anchors`,
    ]);
  }
}

function merge<T>(defaults: T, overrides: unknown): T {
  if (overrides === undefined || overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    return (overrides ?? defaults) as T;
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides)) out[k] = merge(out[k], v);
  return out as T;
}

/** Reads, checks and completes a configuration. Throws a ConfigError listing every problem. */
export function parseConfigText(text: string, file: string): MallBackupConfig {
  const raw = parseText(text, file);
  const problems = schemaProblems(CONFIG_SCHEMA, raw, 'config');
  if (problems.length > 0) throw new ConfigError(file, problems);
  return merge(DEFAULT_CONFIG, raw);
}

const MAX_CONFIG_BYTES = 2 ** 20;

/**
 * The file's text, read up to the cap: a runaway file (a log, a dump, /dev/zero, a pipe that never ends) is
 * refused rather than read and parsed for minutes. Pipes work (`--config /dev/stdin`).
 */
function readCapped(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length <= MAX_CONFIG_BYTES; ) {
      read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      length += read;
    }
    if (length > MAX_CONFIG_BYTES)
      throw new ConfigError(file, ['holds more than 1 MiB: a configuration file is at most 1 MiB']);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export function loadConfig(file: string | undefined): MallBackupConfig {
  if (!file) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readCapped(file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(file, [`cannot be read: ${(error as Error).message}`]);
  }
  return parseConfigText(text, file);
}
