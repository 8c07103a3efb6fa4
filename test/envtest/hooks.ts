// Mocha root hooks (loaded through .mocharc's "require"): count the real-API tests that passed
// and stop the shared apiserver once the whole run is over.

import { countIfRealApi, stopShared } from './shared.js';

export const mochaHooks = {
  afterEach(this: Mocha.Context) { countIfRealApi(this.currentTest); },
  async afterAll(this: Mocha.Context) { this.timeout(30000); await stopShared(); },
};
