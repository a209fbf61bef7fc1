// Route validators loaded and compiled on first use instead of at start. Fastify compiles every
// route schema with Ajv when the app becomes ready: loading Ajv, creating its instance and
// generating the code of our few fixed schemas cost ~30 ms of CPU, 0.15 s of a 0.2-CPU host's
// start, for routes the readiness check never calls. Here each route's validator is Fastify's own
// (@fastify/ajv-compiler, the same options, the same code), only built when a request first needs
// it or by precompile(), which the app runs once it is listening (app.warm). A request that comes
// before Ajv is loaded gets its answer through Fastify's asynchronous validation path (the one an
// `$async` schema takes: pass or fail, Ajv's errors); every later one is synchronous. The
// validation itself is unchanged.
import type AjvCompiler from '@fastify/ajv-compiler';

type BuildValidator = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<BuildValidator>;
type Validate = ReturnType<Compile>;

export interface LazyValidators {
  /** Fastify's `schemaController.compilersFactory.buildValidator` */
  buildValidator: BuildValidator;
  /** loads Ajv and compiles every validator not compiled yet; resolves to how many it compiled */
  precompile(): Promise<number>;
  /** how many validators are compiled so far (for tests) */
  compiled(): number;
}

/** Fastify's own validator builder, loaded on demand. */
const loadFastifyAjv = async (): Promise<BuildValidator> => (await import('@fastify/ajv-compiler')).default();

/** Wraps a validator builder (default: Fastify's own) so that it is loaded and compiles lazily. */
export function lazyValidators(load: () => Promise<BuildValidator> = loadFastifyAjv): LazyValidators {
  let base: BuildValidator | null = null;
  let loading: Promise<BuildValidator> | null = null;
  const loaded = () =>
    (loading ??= load().then((b) => {
      base = b;
      return b;
    }));
  const pending = new Set<() => Validate>();
  let compiled = 0;
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    let compile: Compile | null = null;
    return (route) => {
      let inner: Validate | null = null;
      // only called once `base` is loaded
      const get = () => {
        if (!inner) {
          // a schema Ajv rejects throws here: its route answers 500 (the app tests call every route)
          compile ??= base!(externalSchemas, options);
          inner = compile(route);
          pending.delete(get);
          compiled++;
        }
        return inner;
      };
      pending.add(get);
      const run = (data: unknown) => {
        const v = get();
        const ok = v(data);
        // Fastify reads `.errors` from the function it was given after a failed validation
        (validate as { errors?: unknown }).errors = v.errors;
        return ok;
      };
      const validate = ((data: unknown) => {
        if (base) return run(data);
        return loaded()
          .then(() => run(data))
          .catch((e: Error) => {
            // Ajv answers a failed validation with false: a throw is a schema that does not
            // compile (or Ajv that does not load), the app's fault, not the request's
            throw Object.assign(e, { statusCode: 500 });
          });
      }) as Validate;
      return validate;
    };
  };
  return {
    buildValidator,
    async precompile() {
      await loaded();
      const todo = [...pending];
      for (const get of todo) get();
      return todo.length;
    },
    compiled: () => compiled,
  };
}

/**
 * Fastify's `compilersFactory.buildSerializer` for an app without response schemas: Fastify loads
 * fast-json-stringify's compiler at construction (~8 ms of CPU, 40 ms of a 0.2-CPU start) for
 * them, and the app declares none (replies are JSON.stringify'd). A route that declares one makes
 * the app fail at start with this line, instead of loading the compiler at every start unused.
 */
export function noResponseSerializers(): never {
  throw new Error("the app compiles no response schemas (targets/app/validators.ts noResponseSerializers): remove the route's response schema, or give Fastify back its serializer compiler");
}
