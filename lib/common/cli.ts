/**
 * The one command-line parser of the project's commands (synth, synth:helm, the operator): node:util
 * parseArgs in strict mode, so an unknown flag, a positional argument or a flag without its value is an
 * error that lists what the command takes, and `--help` prints that list. `--flag value` and
 * `--flag=value` both work.
 */
import { parseArgs } from 'node:util';

export interface CliOption {
  readonly name: string;
  /** Placeholder of the value, e.g. "file"; absent for a switch that takes none. */
  readonly value?: string;
  readonly description: string;
  /** Environment variable read when the flag is not given. */
  readonly env?: string;
  /** Shown in the help; the command applies it (declared once, where the value is used). */
  readonly default?: string | number | boolean;
}

export interface CliCommand {
  /** How a person runs it, e.g. "npm run synth --". */
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly CliOption[];
}

export class UsageError extends Error {}

const HELP: CliOption = { name: 'help', description: 'print this help and exit (also -h)' };

export function helpText(command: CliCommand): string {
  const rows = [...command.options, HELP].map((o) => {
    const flag = `--${o.name}${o.value ? ` <${o.value}>` : ''}`;
    const extra = [
      o.env ? `env ${o.env}` : '',
      o.default !== undefined && o.default !== '' ? `default ${o.default}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [flag, `${o.description}${extra ? ` (${extra})` : ''}`];
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return `Usage: ${command.usage} [options]\n${command.summary}\n\nOptions:\n${rows
    .map(([f, d]) => `  ` + `${f.padEnd(width)}  ${d}`)
    .join('\n')}\n`;
}

/** Why parseArgs refused, in the command's words. */
function reason(error: NodeJS.ErrnoException, argv: readonly string[]): string {
  const message = error.message.split('\n')[0];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
      return `unknown option ${flag}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']+)'/.exec(message)?.[1] ?? argv.find((a) => !a.startsWith('-')) ?? '';
      return `unexpected argument ${JSON.stringify(arg)}: every value follows its option, e.g. --out <folder>`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /--([a-z-]+)/.exec(message)?.[0] ?? 'an option';
      if (/does not take an argument/.test(message)) return `${flag} takes no value: give it alone`;
      return `${flag} needs a value${
        /ambiguous/.test(message)
          ? ' (the next argument is another option; write ' + '--flag=-value for a value starting with -)'
          : ''
      }`;
    }
    default:
      return message;
  }
}

/**
 * Parses `argv` against `command`. Returns undefined when `--help` was asked for (after printing the help to
 * stdout); throws a UsageError naming the problem and listing the options otherwise. Values fall back to
 * the options' environment variables; an empty value counts as missing.
 */
export function parseCommandLine(
  command: CliCommand,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (text: string) => void = (t) => void process.stdout.write(t),
): Record<string, string | undefined> | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of command.options) options[o.name] = { type: o.value ? 'string' : 'boolean' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    throw new UsageError(`${reason(error as NodeJS.ErrnoException, argv)}\n\n${helpText(command)}`);
  }
  // parseArgs keeps the last of a repeated option: the earlier value would be dropped without a word.
  const given = new Map<string, string[]>();
  for (const t of parsed.tokens ?? [])
    if (t.kind === 'option' && t.name !== 'help')
      given.set(t.name, [...(given.get(t.name) ?? []), String(t.value ?? true)]);
  for (const [name, values] of given) {
    if (values.length > 1) {
      throw new UsageError(
        `--${name} is given ${values.length === 2 ? 'twice' : `${values.length} times`} ` +
          `(${values.map((v) => JSON.stringify(v)).join(', then ')}): give it once\n\n${helpText(command)}`,
      );
    }
  }
  if (parsed.values.help) {
    out(helpText(command));
    return undefined;
  }
  const values: Record<string, string | undefined> = {};
  for (const o of command.options) {
    const given = parsed.values[o.name];
    if (given === '') throw new UsageError(`--${o.name} needs a value\n\n${helpText(command)}`);
    if (typeof given === 'boolean') values[o.name] = String(given);
    else values[o.name] = (given as string | undefined) ?? (o.env ? env[o.env] || undefined : undefined);
  }
  return values;
}
