// aws-local-stepfunctions 3 declares Node >= 22 and calls Promise.withResolvers, which Node 20 lacks.
// Lambda runs nodejs22.x/24.x, so only local runs and tests need this shim; it must load before that package.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
