/**
 * Data minimization: only the fields, and the precision, that a purpose needs leave
 * the flow.
 *
 * A config is compiled once into a plan: a tree of the rule paths (one branch per key,
 * one for `*`), with every `*` branch already folded into its literal siblings, so
 * that a message is handled in one walk over the parts of it the rules name. The walk
 * never changes the message it is given: it builds the output beside it (sharing the
 * subtrees it keeps whole), so a message that fails is handed to done(err) untouched.
 */
export * from "./schema";
export { geohash, truncateUtcIso } from "./transforms";
export { compile, allows, type Plan } from "./plan";
export { minimize, MAX_NAMES, type MinimizeSummary, type MinimizeResult } from "./walk";
