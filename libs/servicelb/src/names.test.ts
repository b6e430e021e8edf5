import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { daemonSetName } from './names.ts';
import { UID } from './testing/index.ts';

describe('daemonSetName (K3s generateName, spec §5.1)', () => {
  const cases: { name: string; service: string; want: string }[] = [
    { name: 'short name is kept', service: 'a-service', want: 'svclb-a-service-35a5ccb3' },
    { name: 'a 51-character name is cut to 48', service: 'a-service-with-a-very-veeeeeery-long-yet-valid-name', want: 'svclb-a-service-with-a-very-veeeeeery-long-yet-valid-n-35a5ccb3' },
    { name: 'trailing hyphens left by the cut are stripped', service: 'a-service-with-a-name-with-inconvenient------------hypens', want: 'svclb-a-service-with-a-name-with-inconvenient-35a5ccb3' },
    { name: 'exactly 48 characters is not cut', service: 'x'.repeat(48), want: `svclb-${'x'.repeat(48)}-35a5ccb3` },
    { name: '49 characters is cut to 48', service: `${'y'.repeat(48)}z`, want: `svclb-${'y'.repeat(48)}-35a5ccb3` },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = daemonSetName(c.service, UID);
      assert.equal(got, c.want);
      assert.ok(got.length <= 63, `${got} is longer than 63`);
    });
  }
});
