// Unit tests of this project (src/**/*.test.ts) under Jest: `npx nx test runner`. Settings: jest.preset.mjs.
import { projectConfig } from '../../jest.preset.mjs';

export default projectConfig(import.meta.dirname);
