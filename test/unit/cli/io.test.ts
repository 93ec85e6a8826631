import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputLine, readLines, readStream } from '../../../src/cli/io';

async function lines(chunks: (string | Buffer)[], max = 10): Promise<InputLine[]> {
  const out: InputLine[] = [];
  for await (const l of readLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), max)) out.push(l);
  return out;
}

describe('readLines', () => {
  it.each<[string, (string | Buffer)[], InputLine[]]>([
    ['LF and CRLF, last line without newline', ['a\r\nb\nc'], [{ number: 1, text: 'a' }, { number: 2, text: 'b' }, { number: 3, text: 'c' }]],
    ['a line split over chunks', ['ab', 'c\nd', 'e\n'], [{ number: 1, text: 'abc' }, { number: 2, text: 'de' }]],
    ['empty lines keep their numbers', ['\n\nx\n'], [{ number: 1, text: '' }, { number: 2, text: '' }, { number: 3, text: 'x' }]],
    ['a UTF-8 character split between chunks', [Buffer.from('é\n').subarray(0, 1), Buffer.from('é\n').subarray(1)], [{ number: 1, text: 'é' }]],
    ['a line over the limit is skipped, counted across chunks', ['0123456789', 'abc\nok\n'], [{ number: 1, tooLong: 13 }, { number: 2, text: 'ok' }]],
    ['exactly the limit is kept', ['0123456789\n'], [{ number: 1, text: '0123456789' }]],
    ['an endless over-long last line', ['x'.repeat(25)], [{ number: 1, tooLong: 25 }]],
    ['nothing', [], []],
  ])('%s', async (_name, chunks, expected) => {
    expect(await lines(chunks)).toEqual(expected);
  });
});

describe('readStream', () => {
  it('stops past the limit with the error it is given', async () => {
    await expect(readStream(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), () => new Error('too big'), 10)).rejects.toThrow('too big');
    expect(await readStream(Readable.from([Buffer.from('abc')]), () => new Error('too big'), 3)).toBe('abc');
  });
});
