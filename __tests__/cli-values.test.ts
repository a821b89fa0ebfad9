/** Values the parsers must not read generously: a typo or a blank never turns into a setting nobody asked for. */
import { parseCommandLine, UsageError } from '../lib/common/cli';
import { parseConfig } from '../operator/config';

const refused = (argv: string[]) => {
  try {
    parseConfig(argv, {}, () => {});
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(argv)} was accepted`);
};

describe('operator numbers are whole decimal numbers, written out', () => {
  test.each([
    // A blank is not 0: it would make the metrics port random and lift the run cap.
    [['--metrics-port= '], '--metrics-port " " is not valid: use an integer from 0 to 65535'],
    [['--max-concurrent-runs', ' '], '--max-concurrent-runs " " is not valid: use an integer from 0 to 100000'],
    [['--workers', '0x4'], '--workers "0x4" is not valid: use an integer from 1 to 64'],
    [['--workers', '1e1'], '--workers "1e1" is not valid: use an integer from 1 to 64'],
    [['--workers', '4.0'], '--workers "4.0" is not valid: use an integer from 1 to 64'],
    [['--workers', '+4'], '--workers "+4" is not valid: use an integer from 1 to 64'],
    [['--workers', '65'], '--workers "65" is not valid: use an integer from 1 to 64'],
    [['--probe-port=-1'], '--probe-port "-1" is not valid: use an integer from 0 to 65535'],
  ])('%j is refused', (argv, reason) => {
    expect(refused(argv)).toContain(reason);
  });

  test('written-out numbers, from a flag or the environment, are read as given', () => {
    expect(parseConfig(['--workers', '08', '--metrics-port=0'], { MAX_CONCURRENT_RUNS: '12' })).toMatchObject({
      workers: 8,
      metricsPort: 0,
      maxConcurrentRuns: 12,
    });
  });
});

describe('--namespaces names namespaces', () => {
  test.each([
    // Nothing between the commas would otherwise mean "every namespace": the widest setting, from a blank.
    [
      [','],
      '--namespaces "," names no namespace: list namespace names separated by commas, or leave it out to watch all',
    ],
    [[' '], '--namespaces " " names no namespace'],
    [
      ['shops,Bakery'],
      '--namespaces: "Bakery" is not a namespace name (a DNS-1123 label: lower-case letters, digits and -',
    ],
    [['shops,,bakery'], '--namespaces "shops,,bakery" has an empty name between commas'],
  ])('--namespaces %j is refused', ([value], reason) => {
    expect(refused(['--namespaces', value])).toContain(reason);
  });

  test('names are trimmed, and a blank WATCH_NAMESPACES still means all', () => {
    expect(parseConfig(['--namespaces', 'shops, bakery'], {})).toMatchObject({ namespaces: ['shops', 'bakery'] });
    expect(parseConfig([], { WATCH_NAMESPACES: '' })).toMatchObject({ namespaces: [] });
  });
});

test('a switch given a value is told it takes none, not that it needs one', () => {
  const command = { usage: 'x', summary: 'y', options: [{ name: 'dry-run', description: 'd' }] };
  for (const argv of [['--help=1'], ['--dry-run=yes']]) {
    const flag = argv[0].split('=')[0];
    expect(() => parseCommandLine(command, argv, {}, () => {})).toThrow(`${flag} takes no value`);
  }
});
