import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

/**
 * Registers tfjs-core's gradients, which training needs and serving never does (serving does not import this).
 *
 * tfjs-core's Node entry (package.json "main": dist/tf-core.node.js, the CommonJS bundle that tfjs-converter and
 * the backends `require` too) leaves the gradients out: tfjs-core publishes them only as ES modules,
 * dist/register_all_gradients.js and dist/gradients/*.js, whose relative imports have no extension. Node's ES
 * loader cannot resolve those ('./gradients' is both a file and a directory in dist/), which is why they looked
 * unloadable; the @tensorflow/tfjs umbrella only worked because its bundle, dist/tf.node.js, carries its own
 * copy of these modules. Loaded through tsx's CommonJS loader, the same files resolve the CommonJS way (file
 * before directory) with their ES syntax compiled, so tfjs-core's own gradients register. They land in the
 * registry the bundle's engine reads: tfjs-core keeps its kernel and gradient registries and its engine on the
 * global object (src/global_util.ts getGlobal, kernel_registry.ts 'gradRegistry', engine.ts '_tfengine'), shared
 * by every copy of its modules in the process.
 */
const unregister = register();
try {
  createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
} finally {
  unregister();
}
