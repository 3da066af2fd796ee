/**
 * Preloaded into every workflow thread once (workflow-bundle.ts). It imports zod as every workflow
 * module does, so the module webpack shares is the very one they use (a bare "zod" in the SDK's
 * preloadModules resolves through "require" to zod's CommonJS build, a second copy).
 *
 * zod sets its defaults (the English messages, the memoizer) on the first schema built, into its
 * global config, which the SDK freezes once the preload is done: a first schema built inside a
 * workflow would then fail its task. One schema built and checked here sets them first.
 */
import { z } from 'zod';

z.strictObject({ warmUp: z.string() }).safeParse({});

export { z };
