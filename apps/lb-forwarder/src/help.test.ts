import { it } from '@jest/globals';
import { assertHelpIsTrue } from '@portico/service-kit/testing';
import { createProgram } from './cli.ts';

it('help is true: only commands that exist (run takes no durations)', async () => {
  await assertHelpIsTrue(createProgram(), { minDurations: 0 });
});
