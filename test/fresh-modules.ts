// The unit project reuses its workers from file to file (vitest.config.ts, isolate: false). This
// runs before each file: the file imports src/ afresh, so no module state (a cache, a lazily
// loaded builtin) carries over from the file before, and its vi.mock calls reach every module
// that imports what they replace (a module already loaded would keep the real one).
import { vi } from 'vitest';

vi.resetModules();
