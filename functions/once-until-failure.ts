/**
 * Work done once and shared — a Lambda container's wiring, a lookup that does not change while a client lives —
 * where a failure must not stick: the next call does the work again (a transient error, a fixed config).
 */
export function onceUntilFailure<A extends unknown[], T>(
  load: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  let loading: Promise<T> | undefined;
  return (...args) => {
    if (!loading) {
      const attempt = load(...args);
      loading = attempt;
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };
}
