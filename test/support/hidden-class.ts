/**
 * Whether two objects share V8's hidden class (map). Objects that reach the same code with many
 * maps make its inline caches megamorphic, which a hot path pays for on every request; tests of
 * such objects use this to pin the shape down.
 */
import { setFlagsFromString } from 'node:v8';

// The flag only lets the parser accept `%` calls; code without them compiles as it did before,
// so the tests that import this still exercise the server's code as it runs in production.
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** How many of `objects` do not share the first one's hidden class (0 when all do). */
export function hiddenClassesApartFromFirst(objects: readonly object[]): number {
  const [first] = objects;
  return first === undefined ? 0 : objects.filter((o) => !haveSameMap(first, o)).length;
}
