import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doctestBlocks } from './doc-blocks.js';

describe('doctestBlocks', () => {
  it('takes the ```sh doctest blocks only, with the line of their opening fence', () => {
    const md = [
      '# Title', //                          1
      '```sh', //                            2
      'npx parapet start   # not marked', // 3
      '```', //                              4
      '```sh doctest', //                    5
      'npx parapet acl list', //             6
      '', //                                 7
      'echo "```"', //                       8: not a fence (text before it)
      '```', //                              9
      '```shell doctest', //                10: another language
      'false', //                           11
      '```', //                             12
      '   ~~~~ sh doctest', //              13
      '     echo indented', //              14
      '   ```', //                          15: a backtick fence does not close a tilde block
      '   ~~~~', //                         16
      '```text', //                         17
      '```sh doctest', //                   18: inside a text block
      '```', //                             19
    ].join('\n');
    assert.deepEqual(doctestBlocks(md, 'x.md'), [
      { file: 'x.md', line: 5, script: 'npx parapet acl list\n\necho "```"\n' },
      { file: 'x.md', line: 13, script: '  echo indented\n```\n' },
    ]);
  });

  it('refuses a marked block that is never closed', () => {
    assert.throws(() => doctestBlocks('text\n```sh doctest\nnpx parapet acl list\n', 'y.md'), /y\.md:2: a sh doctest block is never closed/);
  });
});
