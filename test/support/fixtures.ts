/** The worlds the property tests run in: the public teaching API's (src/teaching/fixtures.ts). */
import { modelVariants as variantsOfEveryModel } from '../../src/teaching/fixtures.js';

export {
  BASE_TREE,
  BASE_TREE_WITH_HARDLINKS,
  buildLayer,
  setUp,
  unionSemantics,
  type BaseEntry,
  type ModelVariant,
  type Setup,
  type UnionSemantics,
} from '../../src/teaching/fixtures.js';

/** Every registered model with its defaults, plus overlay2 with each non-default option turned on. */
export const modelVariants = variantsOfEveryModel();
