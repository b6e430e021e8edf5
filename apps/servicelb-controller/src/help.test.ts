import { it } from '@jest/globals';
import { assertHelpIsTrue } from '@portico/service-kit/testing';
import { createProgram } from './cli.ts';

it('help is true: only commands that exist; every duration default in units', async () => {
  await assertHelpIsTrue(createProgram(), { minDurations: 4 });
});
