import { parseRunResult } from '../lib/run/run-result';
import { describeRun, runResultOf } from '../operator/controller/run-outcome';

const partial =
  '{"v":1,"outcome":"PartiallyFailed","reason":"SomeFilesUnreadable","message":"snapshot abc saved","snapshot":"' +
  'a'.repeat(64) +
  '","stats":{"filesNew":2,"filesChanged":1,"bytesAdded":10,"totalFiles":9,"totalBytes":99,"durationSeconds":1.5},' +
  '"unreadable":{"count":3,"paths":["/data/x"]},"retention":"applied","removed":1,"lockWaited":true}';

test("the run's termination message is read in one place; anything else is not a result", () => {
  expect(parseRunResult(partial)).toMatchObject({
    outcome: 'PartiallyFailed',
    snapshot: 'a'.repeat(64),
    unreadable: { count: 3 },
    removed: 1,
  });
  expect(parseRunResult('snapshot=abcdef12')).toBeUndefined();
  expect(parseRunResult('{"v":2,"outcome":"Completed","reason":"X"}')).toBeUndefined();
  expect(parseRunResult('{"v":1,"outcome":"Exploded","reason":"X"}')).toBeUndefined();
  expect(parseRunResult('{"v":1,"outcome":"Failed","reason":"panic: runtime error"}')).toBeUndefined();
});

test('the status message carries the cause and the numbers', () => {
  const result = runResultOf([{ status: { containerStatuses: [{ state: { terminated: { message: partial } } }] } }])!;
  const { reason, message } = describeRun('backup-bakery-1', result);
  expect(reason).toBe('SomeFilesUnreadable');
  expect(message).toContain('3 unreadable file(s), e.g. /data/x');
  expect(message).toContain('2 new and 1 changed file(s), 10 bytes added');
  expect(message).toContain("waited for another restic's lock");
});

test('file names with newlines and terminal escapes reach the status escaped, on one line', () => {
  // The paths as a real run writes them: restic's own JSON escapes, copied into the termination message.
  const text =
    '{"v":1,"outcome":"PartiallyFailed","reason":"SomeFilesUnreadable","message":"snapshot saved\\u0007",' +
    '"unreadable":{"count":2,"paths":["/data/d/ctl\\u0001\\u001b[31m","/data/d/new\\nline"]},"lockWaited":false}';
  const result = parseRunResult(text)!;
  expect(result.unreadable!.paths).toEqual(['/data/d/ctl\\u0001\\u001b[31m', '/data/d/new\\nline']);
  const { message } = describeRun('backup-bakery-1', result);
  expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(message).toContain('/data/d/new\\nline');
});
