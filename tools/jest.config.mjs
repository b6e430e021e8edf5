// The repo tools' own tests under Jest: `npx nx test tools` (tools/lint/boundaries.test.ts proves the
// lint rules fire). Settings: jest.preset.mjs.
import { projectConfig } from '../jest.preset.mjs';

export default projectConfig(import.meta.dirname, ['<rootDir>/lint/**/*.test.ts']);
